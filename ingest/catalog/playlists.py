"""Playlists: a user's ordered lists of items, shared with others to view or to edit.

    CatalogError (ingest.errors)
    +-- PlaylistError
        +-- PlaylistNotFound (LookupError)     the playlist, an entry of it or an item to add does
        |                                      not exist or is hidden from the user: 404
        +-- PlaylistDenied (PermissionError)   the user sees the playlist but may not do this: 403

Who may do what (``Access``): the owner everything; a user it is shared with ``can_edit`` adds,
moves and removes entries; a plain share or ``is_public`` only lets a user see it. Renaming,
deleting and sharing are the owner's. Viewers only ever see the entries whose items they may see
(``browse.visible``), and may add only such items.

Order: entries carry sparse positions (``GAP`` apart), so appending and moving write one row;
when a move finds no room between two neighbours the playlist is renumbered first (``place`` and
``spread`` decide, pure). Edits lock the playlist row on PostgreSQL: run them in ``db.begin()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.browse import ItemSummary, Viewer, summaries, summary_query, visible
from ingest.catalog.schema import media_items, playlist_items, playlist_shares, playlists, users
from ingest.errors import CatalogError

GAP = 1024
p = playlists.c
e = playlist_items.c
sh = playlist_shares.c


class PlaylistError(CatalogError):
    pass


class PlaylistNotFound(PlaylistError, LookupError):
    pass


class PlaylistDenied(PlaylistError, PermissionError):
    pass


class Access(IntEnum):
    NONE = 0
    VIEW = 1
    EDIT = 2
    OWN = 3


@dataclass(frozen=True, slots=True)
class Playlist:
    id: int
    owner_id: int
    name: str
    is_public: bool
    access: Access  # the asking user's
    item_count: int  # the entries the asking user may see
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PlaylistEntry:
    id: int  # the entry's, not the item's: an item may stand in a playlist twice
    position: int
    item: ItemSummary


@dataclass(frozen=True, slots=True)
class Share:
    user_id: int
    username: str
    can_edit: bool


@dataclass(frozen=True, slots=True)
class PlaylistDetail:
    playlist: Playlist
    entries: tuple[PlaylistEntry, ...]
    shares: tuple[Share, ...]  # only for the owner; empty for everyone else


# --- ordering (pure) ----------------------------------------------------------------------------


def place(positions: Sequence[int], index: int) -> int | None:
    """A position before ``positions[index]`` and after ``positions[index - 1]`` (ascending
    positions of the other entries), or None when no integer fits between them."""
    index = max(0, min(index, len(positions)))
    low = positions[index - 1] if index > 0 else 0
    high = positions[index] if index < len(positions) else low + 2 * GAP
    return (low + high) // 2 if high - low >= 2 else None


def spread(count: int) -> list[int]:
    """Fresh positions for ``count`` entries, ``GAP`` apart."""
    return [GAP * (i + 1) for i in range(count)]


# --- access -------------------------------------------------------------------------------------


async def access(
    conn: AsyncConnection, user_id: int, playlist_id: int, *, lock: bool = False
) -> Access:
    query = (
        sa.select(p.owner_id, p.is_public, sh.can_edit)
        .select_from(
            playlists.outerjoin(
                playlist_shares, sa.and_(sh.playlist_id == p.id, sh.user_id == user_id)
            )
        )
        .where(p.id == playlist_id)
    )
    if lock:
        query = query.with_for_update(of=playlists)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return Access.NONE
    if row.owner_id == user_id:
        return Access.OWN
    if row.can_edit is not None:
        return Access.EDIT if row.can_edit else Access.VIEW
    return Access.VIEW if row.is_public else Access.NONE


async def _require(conn: AsyncConnection, user_id: int, playlist_id: int, needed: Access) -> None:
    have = await access(conn, user_id, playlist_id, lock=needed >= Access.EDIT)
    if have is Access.NONE:
        raise PlaylistNotFound(f"no playlist {playlist_id}")
    if have < needed:
        raise PlaylistDenied(f"playlist {playlist_id} is not yours to change that way")


async def _touch(conn: AsyncConnection, playlist_id: int) -> None:
    now = datetime.now(UTC)
    await conn.execute(playlists.update().where(p.id == playlist_id).values(updated_at=now))


# --- playlists ----------------------------------------------------------------------------------


async def create_playlist(
    conn: AsyncConnection, owner_id: int, name: str, *, is_public: bool = False
) -> Playlist:
    row = (
        await conn.execute(
            playlists.insert().values(owner_id=owner_id, name=name, is_public=is_public)
            .returning(*playlists.c)
        )
    ).one()  # fmt: skip
    return _playlist(row, Access.OWN, 0)


async def rename_playlist(conn: AsyncConnection, user_id: int, playlist_id: int, name: str) -> None:
    await _require(conn, user_id, playlist_id, Access.OWN)
    await conn.execute(
        playlists.update()
        .where(p.id == playlist_id)
        .values(name=name, updated_at=datetime.now(UTC))
    )


async def delete_playlist(conn: AsyncConnection, user_id: int, playlist_id: int) -> None:
    await _require(conn, user_id, playlist_id, Access.OWN)
    await conn.execute(playlists.delete().where(p.id == playlist_id))


async def share_playlist(
    conn: AsyncConnection,
    owner_id: int,
    playlist_id: int,
    user_id: int,
    *,
    can_edit: bool = False,
) -> None:
    """Share with ``user_id`` (again: ``can_edit`` replaces the earlier grant)."""
    await _require(conn, owner_id, playlist_id, Access.OWN)
    if user_id == owner_id:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(playlist_shares).values(
        playlist_id=playlist_id, user_id=user_id, can_edit=can_edit
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[sh.playlist_id, sh.user_id], set_={"can_edit": can_edit}
        )
    )


async def unshare_playlist(
    conn: AsyncConnection, owner_id: int, playlist_id: int, user_id: int
) -> bool:
    await _require(conn, owner_id, playlist_id, Access.OWN)
    result = await conn.execute(
        playlist_shares.delete().where(sh.playlist_id == playlist_id, sh.user_id == user_id)
    )
    return result.rowcount > 0


def _playlist(row: sa.Row[Any], access: Access, count: int) -> Playlist:
    return Playlist(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        is_public=row.is_public,
        access=access,
        item_count=count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _visible_counts(viewer: Viewer) -> sa.Subquery:
    return (
        sa.select(e.playlist_id, sa.func.count().label("n"))
        .join(media_items, media_items.c.id == e.item_id)
        .where(visible(viewer))
        .group_by(e.playlist_id)
        .subquery("counts")
    )


async def list_playlists(conn: AsyncConnection, viewer: Viewer) -> list[Playlist]:
    """The viewer's own playlists and those shared with them, by name."""
    counts = _visible_counts(viewer)
    rows = await conn.execute(
        sa.select(playlists, sh.can_edit, counts.c.n)
        .select_from(
            playlists.outerjoin(
                playlist_shares, sa.and_(sh.playlist_id == p.id, sh.user_id == viewer.user_id)
            ).outerjoin(counts, counts.c.playlist_id == p.id)
        )
        .where(sa.or_(p.owner_id == viewer.user_id, sh.user_id.is_not(None)))
        .order_by(p.name, p.id)
    )
    return [
        _playlist(
            row,
            Access.OWN
            if row.owner_id == viewer.user_id
            else (Access.EDIT if row.can_edit else Access.VIEW),
            row.n or 0,
        )
        for row in rows
    ]


async def get_playlist(
    conn: AsyncConnection, viewer: Viewer, playlist_id: int
) -> PlaylistDetail | None:
    """The playlist with the entries the viewer may see, in order; None when hidden from them."""
    have = await access(conn, viewer.user_id, playlist_id)
    if have is Access.NONE:
        return None
    row = (await conn.execute(sa.select(playlists).where(p.id == playlist_id))).one()
    query = (
        summary_query(viewer)
        .add_columns(e.id.label("entry_id"), e.position)
        .join(playlist_items, e.item_id == media_items.c.id)
        .where(e.playlist_id == playlist_id)
        .order_by(e.position)
    )
    rows = (await conn.execute(query)).all()
    entries = tuple(
        PlaylistEntry(r.entry_id, r.position, item)
        for r, item in zip(rows, await summaries(conn, rows), strict=True)
    )
    shares: tuple[Share, ...] = ()
    if have is Access.OWN:
        found = await conn.execute(
            sa.select(sh.user_id, users.c.username, sh.can_edit)
            .join(users, users.c.id == sh.user_id)
            .where(sh.playlist_id == playlist_id)
            .order_by(users.c.username)
        )
        shares = tuple(Share(*r) for r in found)
    return PlaylistDetail(_playlist(row, have, len(entries)), entries, shares)


# --- entries ------------------------------------------------------------------------------------


async def add_items(
    conn: AsyncConnection, viewer: Viewer, playlist_id: int, item_ids: Sequence[int]
) -> list[int]:
    """Append items in the order given; the new entry ids. Every item must be visible to the
    viewer (else PlaylistNotFound and nothing is added)."""
    await _require(conn, viewer.user_id, playlist_id, Access.EDIT)
    if not item_ids:
        return []
    seen = await conn.execute(
        sa.select(media_items.c.id).where(media_items.c.id.in_(set(item_ids)), visible(viewer))
    )
    missing = set(item_ids) - set(seen.scalars())
    if missing:
        raise PlaylistNotFound(f"no items {sorted(missing)}")
    last = (
        await conn.execute(sa.select(sa.func.max(e.position)).where(e.playlist_id == playlist_id))
    ).scalar()
    start = last or 0
    result = await conn.execute(
        playlist_items.insert().returning(e.id, sort_by_parameter_order=True),
        [
            {"playlist_id": playlist_id, "item_id": item_id, "position": start + GAP * (i + 1)}
            for i, item_id in enumerate(item_ids)
        ],
    )
    entry_ids = list(result.scalars())
    await _touch(conn, playlist_id)
    return entry_ids


async def move_entry(
    conn: AsyncConnection, user_id: int, playlist_id: int, entry_id: int, index: int
) -> None:
    """Move an entry to ``index`` in the playlist's order (counted without it; clamped)."""
    await _require(conn, user_id, playlist_id, Access.EDIT)
    rows = (
        await conn.execute(
            sa.select(e.id, e.position).where(e.playlist_id == playlist_id).order_by(e.position)
        )
    ).all()
    if entry_id not in {r.id for r in rows}:
        raise PlaylistNotFound(f"no entry {entry_id} in playlist {playlist_id}")
    others = [r for r in rows if r.id != entry_id]
    position = place([r.position for r in others], index)
    if position is None:
        # No room left between the neighbours: renumber everyone, GAP apart, then place again.
        # Negative positions first, so no row ever collides with another on the unique key.
        fresh = spread(len(others))
        position = place(fresh, index)
        assert position is not None
        await conn.execute(
            playlist_items.update()
            .where(e.playlist_id == playlist_id)
            .values(position=-e.position - 1)
        )
        await conn.execute(
            playlist_items.update().where(e.id == sa.bindparam("b_id")),
            [{"b_id": r.id, "position": pos} for r, pos in zip(others, fresh, strict=True)],
        )
    await conn.execute(playlist_items.update().where(e.id == entry_id).values(position=position))
    await _touch(conn, playlist_id)


async def remove_entries(
    conn: AsyncConnection, user_id: int, playlist_id: int, entry_ids: Sequence[int]
) -> int:
    """Remove entries (those not in the playlist are ignored); how many went."""
    await _require(conn, user_id, playlist_id, Access.EDIT)
    result = await conn.execute(
        playlist_items.delete().where(e.playlist_id == playlist_id, e.id.in_(set(entry_ids)))
    )
    await _touch(conn, playlist_id)
    return result.rowcount
