"""Queries on users and their library access. Password hashing is the caller's business: this
module stores hashes.

Library visibility: admins see every library; so does a user whose ``settings`` hold
``all_libraries: true``; everyone else sees exactly the libraries of their ``library_access`` rows
(possibly none). ``visible_libraries`` is the one place that rule is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.records import User
from ingest.catalog.schema import libraries, library_access, users

ROLES = ("admin", "member", "child")
ALL_LIBRARIES = "all_libraries"  # the settings key: this user sees every library


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
    settings: dict[str, Any] | None = None,
    max_parental_rating: int | None = None,
) -> User:
    _check_roles(roles)
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
                settings=settings or {},
                max_parental_rating=max_parental_rating,
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


def _check_roles(roles: Sequence[str]) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")


async def get_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The user with this email address, compared without regard to case."""
    row = (
        await conn.execute(
            sa.select(users).where(sa.func.lower(users.c.email) == email.lower()).limit(1)
        )
    ).one_or_none()
    return _user(row) if row else None


async def get_user_by_subject(conn: AsyncConnection, provider: str, subject: str) -> User | None:
    row = (
        await conn.execute(
            sa.select(users).where(users.c.provider == provider, users.c.subject == subject)
        )
    ).one_or_none()
    return _user(row) if row else None


async def list_users(conn: AsyncConnection) -> list[User]:
    rows = await conn.execute(sa.select(users).order_by(users.c.id))
    return [_user(row) for row in rows]


_UPDATABLE = frozenset(
    {
        "username",
        "email",
        "email_verified",
        "display_name",
        "provider",
        "subject",
        "roles",
        "settings",
        "max_parental_rating",
        "disabled",
    }
)


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> User | None:
    """Set the named columns of a user; the updated user, or None when there is no such user."""
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)} of a user")
    if "roles" in values:
        _check_roles(values["roles"])
        values["roles"] = list(values["roles"])
    row = (
        await conn.execute(
            users.update().where(users.c.id == user_id).values(**values).returning(*users.c)
        )
    ).one_or_none()
    return _user(row) if row else None


async def delete_user(conn: AsyncConnection, user_id: int) -> bool:
    result = await conn.execute(users.delete().where(users.c.id == user_id))
    return result.rowcount > 0


async def get_library_access(conn: AsyncConnection, user_id: int) -> frozenset[int]:
    """The libraries of the user's access list (whatever their role)."""
    rows = await conn.execute(
        sa.select(library_access.c.library_id).where(library_access.c.user_id == user_id)
    )
    return frozenset(int(row.library_id) for row in rows)


async def set_library_access(
    conn: AsyncConnection, user_id: int, library_ids: Iterable[int]
) -> frozenset[int]:
    """Replace the user's access list; ids of libraries that do not exist are left out. Returns
    the list as stored."""
    wanted = set(library_ids)
    existing = (
        {
            int(row.id)
            for row in await conn.execute(
                sa.select(libraries.c.id).where(libraries.c.id.in_(wanted))
            )
        }
        if wanted
        else set()
    )
    await conn.execute(library_access.delete().where(library_access.c.user_id == user_id))
    if existing:
        await conn.execute(
            library_access.insert(),
            [{"user_id": user_id, "library_id": lib} for lib in sorted(existing)],
        )
    return frozenset(existing)


async def visible_libraries(conn: AsyncConnection, user: User) -> frozenset[int] | None:
    """The libraries ``user`` may see; None means every library (admins, ``all_libraries``)."""
    if "admin" in user.roles or user.settings.get(ALL_LIBRARIES) is True:
        return None
    return await get_library_access(conn, user.id)


async def free_username(conn: AsyncConnection, *wanted: str) -> str:
    """A username not taken yet, made from the first of ``wanted`` that has usable characters
    (``Ann Lee`` -> ``Ann-Lee``; ``ann`` taken -> ``ann-2``)."""
    base = "user"
    for candidate in wanted:
        cleaned = re.sub(r"[^\w.+-]+", "-", candidate).strip("-.")[:100]
        if cleaned:
            base = cleaned
            break
    name, n = base, 1
    while await get_user_by_username(conn, name) is not None:
        n += 1
        name = f"{base}-{n}"
    return name
