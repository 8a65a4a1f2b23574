"""Queries for authentication: login sessions and their refresh tokens, signing keys, API keys and
invites. Tokens, keys and invite codes are stored as SHA-256 hex digests, never as themselves;
hashing and every policy (lifetimes, rotation, reuse detection) belong to the caller (``web.auth``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.schema import api_keys, invites, refresh_tokens, sessions, signing_keys


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str  # sessions.token: the session's id (a SHA-256 hex digest)
    user_id: int
    device_name: str | None
    client: str | None
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    token: str  # SHA-256 hex
    session_id: str
    created_at: datetime
    rotated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    algorithm: str
    private_key: str  # PKCS#8 PEM
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class InviteRecord:
    id: int
    role: str
    library_ids: tuple[int, ...] | None  # None: every library
    max_parental_rating: int | None
    expires_at: datetime
    created_by: int | None
    created_at: datetime
    used_by: int | None
    used_at: datetime | None


# --- login sessions -----------------------------------------------------------------------------


def _session(row: sa.Row[Any]) -> SessionRecord:
    return SessionRecord(
        id=row.token,
        user_id=row.user_id,
        device_name=row.device_name,
        client=row.client,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


async def create_session(
    conn: AsyncConnection,
    session_id: str,
    user_id: int,
    *,
    device_name: str | None,
    client: str | None,
    created_at: datetime,
    expires_at: datetime,
) -> SessionRecord:
    row = (
        await conn.execute(
            sessions.insert()
            .values(
                token=session_id,
                user_id=user_id,
                device_name=device_name,
                client=client,
                created_at=created_at,
                last_seen_at=created_at,
                expires_at=expires_at,
            )
            .returning(*sessions.c)
        )
    ).one()
    return _session(row)


async def get_session(
    conn: AsyncConnection, session_id: str, now: datetime
) -> SessionRecord | None:
    """The session, unless it is unknown (revoked) or expired at ``now``."""
    row = (
        await conn.execute(
            sa.select(sessions).where(sessions.c.token == session_id, sessions.c.expires_at > now)
        )
    ).one_or_none()
    return _session(row) if row else None


async def list_sessions(conn: AsyncConnection, user_id: int, now: datetime) -> list[SessionRecord]:
    rows = await conn.execute(
        sa.select(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.expires_at > now)
        .order_by(sessions.c.created_at, sessions.c.token)
    )
    return [_session(row) for row in rows]


async def touch_session(
    conn: AsyncConnection, session_id: str, *, last_seen_at: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        sessions.update()
        .where(sessions.c.token == session_id)
        .values(last_seen_at=last_seen_at, expires_at=expires_at)
    )


async def delete_session(conn: AsyncConnection, session_id: str) -> bool:
    """Delete (revoke) a session and, by cascade, its refresh tokens; False when unknown."""
    result = await conn.execute(sessions.delete().where(sessions.c.token == session_id))
    return result.rowcount > 0


async def delete_user_sessions(conn: AsyncConnection, user_id: int) -> list[str]:
    """Delete every session of a user; the ids deleted."""
    rows = await conn.execute(
        sessions.delete().where(sessions.c.user_id == user_id).returning(sessions.c.token)
    )
    return [row.token for row in rows]


async def delete_expired_sessions(conn: AsyncConnection, now: datetime) -> int:
    result = await conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
    return result.rowcount


# --- refresh tokens -----------------------------------------------------------------------------


async def add_refresh_token(
    conn: AsyncConnection, token_hash: str, session_id: str, created_at: datetime
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            token=token_hash, session_token=session_id, created_at=created_at
        )
    )


async def get_refresh_token(conn: AsyncConnection, token_hash: str) -> RefreshTokenRecord | None:
    row = (
        await conn.execute(sa.select(refresh_tokens).where(refresh_tokens.c.token == token_hash))
    ).one_or_none()
    if row is None:
        return None
    return RefreshTokenRecord(row.token, row.session_token, row.created_at, row.rotated_at)


async def mark_refresh_token_rotated(conn: AsyncConnection, token_hash: str, at: datetime) -> bool:
    """Mark a token used; False when it was already (another request rotated it first)."""
    result = await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.token == token_hash, refresh_tokens.c.rotated_at.is_(None))
        .values(rotated_at=at)
    )
    return result.rowcount == 1


async def delete_rotated_refresh_tokens(conn: AsyncConnection, before: datetime) -> int:
    """Forget tokens rotated before ``before``: presenting one later is no longer called reuse."""
    result = await conn.execute(refresh_tokens.delete().where(refresh_tokens.c.rotated_at < before))
    return result.rowcount


# --- signing keys -------------------------------------------------------------------------------


def _signing_key(row: sa.Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(row.kid, row.algorithm, row.private_key, row.created_at, row.retired_at)


async def add_signing_key(
    conn: AsyncConnection, kid: str, algorithm: str, private_key: str, created_at: datetime
) -> SigningKeyRecord:
    row = (
        await conn.execute(
            signing_keys.insert()
            .values(kid=kid, algorithm=algorithm, private_key=private_key, created_at=created_at)
            .returning(*signing_keys.c)
        )
    ).one()
    return _signing_key(row)


async def list_signing_keys(conn: AsyncConnection, now: datetime) -> list[SigningKeyRecord]:
    """Keys that still verify at ``now``, oldest first."""
    rows = await conn.execute(
        sa.select(signing_keys)
        .where(sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now))
        .order_by(signing_keys.c.created_at, signing_keys.c.kid)
    )
    return [_signing_key(row) for row in rows]


async def retire_signing_keys_before(
    conn: AsyncConnection, created_before: datetime, retired_at: datetime
) -> int:
    """Set the end of verification of every unretired key older than a newer current key."""
    result = await conn.execute(
        signing_keys.update()
        .where(signing_keys.c.retired_at.is_(None), signing_keys.c.created_at < created_before)
        .values(retired_at=retired_at)
    )
    return result.rowcount


async def retire_signing_key(conn: AsyncConnection, kid: str, retired_at: datetime) -> bool:
    result = await conn.execute(
        signing_keys.update().where(signing_keys.c.kid == kid).values(retired_at=retired_at)
    )
    return result.rowcount > 0


async def delete_retired_signing_keys(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(signing_keys.delete().where(signing_keys.c.retired_at < before))
    return result.rowcount


# --- API keys -----------------------------------------------------------------------------------


def _api_key(row: sa.Row[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def create_api_key(
    conn: AsyncConnection,
    user_id: int,
    name: str,
    *,
    key_hash: str,
    prefix: str,
    created_at: datetime,
) -> ApiKeyRecord:
    row = (
        await conn.execute(
            api_keys.insert()
            .values(user_id=user_id, name=name, hash=key_hash, prefix=prefix, created_at=created_at)
            .returning(*api_keys.c)
        )
    ).one()
    return _api_key(row)


async def list_api_keys(conn: AsyncConnection, user_id: int) -> list[ApiKeyRecord]:
    rows = await conn.execute(
        sa.select(api_keys)
        .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
        .order_by(api_keys.c.id)
    )
    return [_api_key(row) for row in rows]


async def get_api_key_by_hash(conn: AsyncConnection, key_hash: str) -> ApiKeyRecord | None:
    """The key with this hash, unless revoked."""
    row = (
        await conn.execute(
            sa.select(api_keys).where(api_keys.c.hash == key_hash, api_keys.c.revoked_at.is_(None))
        )
    ).one_or_none()
    return _api_key(row) if row else None


async def touch_api_key(conn: AsyncConnection, key_id: int, at: datetime) -> None:
    await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=at))


async def revoke_api_key(conn: AsyncConnection, key_id: int, user_id: int, at: datetime) -> bool:
    """Revoke one of ``user_id``'s keys; False when it has no such unrevoked key."""
    result = await conn.execute(
        api_keys.update()
        .where(
            api_keys.c.id == key_id,
            api_keys.c.user_id == user_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return result.rowcount > 0


# --- invites ------------------------------------------------------------------------------------


def _invite(row: sa.Row[Any]) -> InviteRecord:
    ids = row.library_ids
    return InviteRecord(
        id=row.id,
        role=row.role,
        library_ids=None if ids is None else tuple(int(i) for i in ids),
        max_parental_rating=row.max_parental_rating,
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
        used_by=row.used_by,
        used_at=row.used_at,
    )


async def create_invite(
    conn: AsyncConnection,
    *,
    code_hash: str,
    role: str,
    library_ids: Sequence[int] | None,
    max_parental_rating: int | None,
    expires_at: datetime,
    created_by: int | None,
    created_at: datetime,
) -> InviteRecord:
    row = (
        await conn.execute(
            invites.insert()
            .values(
                code_hash=code_hash,
                role=role,
                library_ids=None if library_ids is None else list(library_ids),
                max_parental_rating=max_parental_rating,
                expires_at=expires_at,
                created_by=created_by,
                created_at=created_at,
            )
            .returning(*invites.c)
        )
    ).one()
    return _invite(row)


async def list_invites(conn: AsyncConnection) -> list[InviteRecord]:
    rows = await conn.execute(sa.select(invites).order_by(invites.c.id))
    return [_invite(row) for row in rows]


async def get_invite_by_hash(conn: AsyncConnection, code_hash: str) -> InviteRecord | None:
    row = (
        await conn.execute(sa.select(invites).where(invites.c.code_hash == code_hash))
    ).one_or_none()
    return _invite(row) if row else None


async def claim_invite(conn: AsyncConnection, code_hash: str, now: datetime) -> InviteRecord | None:
    """Mark an unused, unexpired invite used at ``now`` and return it; None when there is none.
    The update is the claim: of two concurrent accepts, only one gets the row."""
    row = (
        await conn.execute(
            invites.update()
            .where(
                invites.c.code_hash == code_hash,
                invites.c.used_at.is_(None),
                invites.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*invites.c)
        )
    ).one_or_none()
    return _invite(row) if row else None


async def set_invite_user(conn: AsyncConnection, invite_id: int, user_id: int) -> None:
    await conn.execute(invites.update().where(invites.c.id == invite_id).values(used_by=user_id))


async def delete_invite(conn: AsyncConnection, invite_id: int) -> bool:
    result = await conn.execute(invites.delete().where(invites.c.id == invite_id))
    return result.rowcount > 0
