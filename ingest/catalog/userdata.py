"""What each user has done with each item: resume position, played, play count, favourite.

Playback reports positions as it goes (``record_progress``); the rules are the ones Jellyfin and
Plex users know: a position in the first 5 % is not worth resuming (kept as 0), one past 90 % marks
the item played and clears the resume point, and the play count rises once per playback that
ends played (the final report of a session). Marking an item played or unplayed by hand
(``set_played``) and favourites (``set_favorite``) go through the same one-row upsert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.schema import user_data

MIN_RESUME = 0.05
MAX_RESUME = 0.90


@dataclass(frozen=True, slots=True)
class UserData:
    user_id: int
    item_id: int
    position_us: int
    played: bool
    play_count: int
    last_played_at: datetime | None
    is_favorite: bool


@dataclass(frozen=True, slots=True)
class Progress:
    """What a position means for an item of ``duration_us``. Pure."""

    position_us: int
    played: bool

    @classmethod
    def of(cls, position_us: int, duration_us: int | None) -> Progress:
        position_us = max(0, position_us)
        if not duration_us or duration_us <= 0:
            return cls(position_us, False)
        fraction = position_us / duration_us
        if fraction >= MAX_RESUME:
            return cls(0, True)
        if fraction < MIN_RESUME:
            return cls(0, False)
        return cls(position_us, False)


def _user_data(row: sa.Row[Any]) -> UserData:
    return UserData(
        user_id=row.user_id,
        item_id=row.item_id,
        position_us=row.position_us,
        played=row.played,
        play_count=row.play_count,
        last_played_at=row.last_played_at,
        is_favorite=row.is_favorite,
    )


def _insert(conn: AsyncConnection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(user_data)


async def record_progress(
    conn: AsyncConnection,
    user_id: int,
    item_id: int,
    position_us: int,
    *,
    duration_us: int | None,
    final: bool,
    now: datetime | None = None,
) -> UserData:
    """Store a playback position (one upsert). Reaching the end marks the item played; a final
    report that ends played counts one more play. An item once played stays played when it is
    watched again from the start (un-marking is the user's explicit choice)."""
    progress = Progress.of(position_us, duration_us)
    now = now or datetime.now(UTC)
    counted = 1 if final and progress.played else 0
    return await _upsert(
        conn,
        user_id,
        item_id,
        now,
        insert={
            "position_us": progress.position_us,
            "played": progress.played,
            "play_count": counted,
            "last_played_at": now,
        },
        update={
            "position_us": progress.position_us,
            "played": True if progress.played else user_data.c.played,
            "play_count": user_data.c.play_count + counted,
            "last_played_at": now,
        },
    )


async def set_played(
    conn: AsyncConnection,
    user_id: int,
    item_id: int,
    played: bool,
    *,
    now: datetime | None = None,
) -> UserData:
    """Mark an item played or unplayed by hand (one upsert). Either clears the resume point.
    Marking played counts one play, only when the item was not played already; marking unplayed
    keeps the play count and the last played time."""
    now = now or datetime.now(UTC)
    if not played:
        return await _upsert(
            conn, user_id, item_id, now, insert={}, update={"played": False, "position_us": 0}
        )
    newly = sa.case((user_data.c.played.is_(True), 0), else_=1)
    return await _upsert(
        conn,
        user_id,
        item_id,
        now,
        insert={"played": True, "play_count": 1, "last_played_at": now},
        update={
            "played": True,
            "position_us": 0,
            "play_count": user_data.c.play_count + newly,
            "last_played_at": now,
        },
    )


async def set_favorite(
    conn: AsyncConnection,
    user_id: int,
    item_id: int,
    favorite: bool,
    *,
    now: datetime | None = None,
) -> UserData:
    return await _upsert(
        conn,
        user_id,
        item_id,
        now or datetime.now(UTC),
        insert={"is_favorite": favorite},
        update={"is_favorite": favorite},
    )


async def _upsert(
    conn: AsyncConnection,
    user_id: int,
    item_id: int,
    now: datetime,
    *,
    insert: dict[str, Any],
    update: dict[str, Any],
) -> UserData:
    """Insert the user's row for the item with ``insert`` over the defaults, or apply ``update``
    to the row already there; the row as it is afterwards."""
    stmt = _insert(conn).values(
        {
            "user_id": user_id,
            "item_id": item_id,
            "position_us": 0,
            "played": False,
            "play_count": 0,
            "last_played_at": None,
            "is_favorite": False,
            "updated_at": now,
            **insert,
        }
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[user_data.c.user_id, user_data.c.item_id],
        set_={**update, "updated_at": now},
    ).returning(*user_data.c)
    return _user_data((await conn.execute(stmt)).one())


async def get_user_data(conn: AsyncConnection, user_id: int, item_id: int) -> UserData | None:
    row = (
        await conn.execute(
            sa.select(user_data).where(
                user_data.c.user_id == user_id, user_data.c.item_id == item_id
            )
        )
    ).one_or_none()
    return None if row is None else _user_data(row)


async def list_user_data(
    conn: AsyncConnection, user_id: int, item_ids: Iterable[int]
) -> dict[int, UserData]:
    """The user's rows for many items at once (a page's worth), by item id; absent = untouched."""
    wanted = sorted(set(item_ids))
    found: dict[int, UserData] = {}
    for start in range(0, len(wanted), 500):
        rows = await conn.execute(
            sa.select(user_data).where(
                user_data.c.user_id == user_id,
                user_data.c.item_id.in_(wanted[start : start + 500]),
            )
        )
        found.update((row.item_id, _user_data(row)) for row in rows)
    return found
