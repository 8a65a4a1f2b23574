"""Queries on users. Password hashing is the caller's business: this module stores hashes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.records import User
from ingest.catalog.schema import users

ROLES = ("admin", "member", "child")


def _user(row: sa.Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email,
        display_name=row.display_name,
        provider=row.provider,
        subject=row.subject,
        password_hash=row.password_hash,
        roles=tuple(row.roles or ()),
        settings=dict(row.settings or {}),
        max_parental_rating=row.max_parental_rating,
        disabled=row.disabled,
        created_at=row.created_at,
    )


async def create_user(
    conn: AsyncConnection,
    username: str,
    *,
    roles: Sequence[str],
    password_hash: str | None = None,
    email: str | None = None,
    email_verified: bool = False,
    display_name: str | None = None,
    provider: str = "local",
    subject: str | None = None,
) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")
    row = (
        await conn.execute(
            users.insert()
            .values(
                username=username,
                roles=list(roles),
                password_hash=password_hash,
                email=email,
                email_verified=email_verified,
                display_name=display_name,
                provider=provider,
                subject=subject,
                settings={},
            )
            .returning(*users.c)
        )
    ).one()
    return _user(row)


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one_or_none()
    return _user(row) if row else None


async def get_user_by_username(conn: AsyncConnection, username: str) -> User | None:
    row = (await conn.execute(sa.select(users).where(users.c.username == username))).one_or_none()
    return _user(row) if row else None


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        users.update().where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def count_users(conn: AsyncConnection) -> int:
    count: int = (await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one()
    return count
