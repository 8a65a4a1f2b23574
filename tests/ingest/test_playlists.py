"""Playlists on SQLite and PostgreSQL: ownership, shares, order under many moves, visibility."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from ingest.catalog import playlists
from ingest.catalog.browse import Viewer
from ingest.catalog.database import Database
from ingest.catalog.playlists import GAP, Access, PlaylistDenied, PlaylistNotFound, place, spread
from ingest.catalog.schema import playlist_items
from ingest.models import LibraryKind
from tests.ingest.test_browse import add_items, add_library, add_user, movie

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("positions", "index", "expected"),
    [
        ([], 0, GAP),
        ([1024], 0, 512),
        ([1024], 1, 2048),
        ([1024, 2048], 1, 1536),
        ([1024, 2048], 9, 3072),  # clamped to the end
        ([1024, 2048], -3, 512),  # clamped to the front
        ([1024, 1025], 1, None),  # no room: renumber
        ([1], 0, None),
        ([2], 0, 1),
    ],
)
def test_place_finds_a_position_between_neighbours(
    positions: list[int], index: int, expected: int | None
) -> None:
    assert place(positions, index) == expected


def test_spread_leaves_gaps() -> None:
    assert spread(3) == [GAP, 2 * GAP, 3 * GAP] and spread(0) == []


@dataclass
class Cast:
    owner: Viewer
    editor: Viewer  # shared with, can edit
    reader: Viewer  # shared with, read only
    stranger: Viewer
    kid: Viewer  # shared with, rated 10 at most
    films: list[int]  # ten PG films
    r_film: int


async def cast(db: Database) -> Cast:
    async with db.begin() as conn:
        lib = await add_library(conn, "Films", LibraryKind.MOVIES)
        films = await add_items(
            conn, lib, [movie(f"Film {i}", 2000, "PG", None) for i in range(10)]
        )
        [r_film] = await add_items(conn, lib, [movie("Heat", 1995, "R", None)])
        return Cast(
            owner=await add_user(conn, "owner", "member", [lib[0]]),
            editor=await add_user(conn, "editor", "member", [lib[0]]),
            reader=await add_user(conn, "reader", "member", [lib[0]]),
            stranger=await add_user(conn, "stranger", "member", [lib[0]]),
            kid=await add_user(conn, "kid", "child", [lib[0]], 10),
            films=films,
            r_film=r_film,
        )


async def shared_playlist(db: Database, c: Cast) -> int:
    async with db.begin() as conn:
        made = await playlists.create_playlist(conn, c.owner.user_id, "Weekend")
        owner_id = c.owner.user_id
        await playlists.share_playlist(conn, owner_id, made.id, c.editor.user_id, can_edit=True)
        await playlists.share_playlist(conn, owner_id, made.id, c.reader.user_id)
        await playlists.share_playlist(conn, owner_id, made.id, c.kid.user_id)
    return made.id


async def test_who_may_do_what(database: Database) -> None:
    c = await cast(database)
    pid = await shared_playlist(database, c)
    async with database.begin() as conn:
        assert [
            await playlists.access(conn, v.user_id, pid)
            for v in (c.owner, c.editor, c.reader, c.stranger)
        ] == [Access.OWN, Access.EDIT, Access.VIEW, Access.NONE]
        # editors edit entries, but only the owner renames, deletes and shares
        [entry] = await playlists.add_items(conn, c.editor, pid, [c.films[0]])
        for viewer in (c.editor, c.reader):
            with pytest.raises(PlaylistDenied):
                await playlists.rename_playlist(conn, viewer.user_id, pid, "Mine now")
            with pytest.raises(PlaylistDenied):
                await playlists.delete_playlist(conn, viewer.user_id, pid)
            with pytest.raises(PlaylistDenied):
                await playlists.share_playlist(conn, viewer.user_id, pid, c.stranger.user_id)
        with pytest.raises(PlaylistDenied):
            await playlists.add_items(conn, c.reader, pid, [c.films[1]])
        with pytest.raises(PlaylistDenied):
            await playlists.move_entry(conn, c.reader.user_id, pid, entry, 0)
        with pytest.raises(PlaylistDenied):
            await playlists.remove_entries(conn, c.reader.user_id, pid, [entry])
        # a stranger learns nothing: not found, as for a playlist that does not exist
        for target in (pid, pid + 1000):
            with pytest.raises(PlaylistNotFound):
                await playlists.add_items(conn, c.stranger, target, [c.films[1]])
            with pytest.raises(PlaylistNotFound):
                await playlists.rename_playlist(conn, c.stranger.user_id, target, "x")
            assert await playlists.get_playlist(conn, c.stranger, target) is None
        with pytest.raises(PlaylistNotFound):
            await playlists.move_entry(conn, c.owner.user_id, pid, entry + 1000, 0)
        await playlists.rename_playlist(conn, c.owner.user_id, pid, "Sunday")
        assert await playlists.unshare_playlist(conn, c.owner.user_id, pid, c.editor.user_id)
        assert not await playlists.unshare_playlist(conn, c.owner.user_id, pid, c.editor.user_id)
        with pytest.raises(PlaylistNotFound):  # a stranger again
            await playlists.add_items(conn, c.editor, pid, [c.films[1]])
        # sharing again replaces the grant
        await playlists.share_playlist(conn, c.owner.user_id, pid, c.reader.user_id, can_edit=True)
        assert await playlists.access(conn, c.reader.user_id, pid) is Access.EDIT
        detail = await playlists.get_playlist(conn, c.owner, pid)
        assert detail is not None and detail.playlist.name == "Sunday"
        assert [(s.username, s.can_edit) for s in detail.shares] == [
            ("kid", False),
            ("reader", True),
        ]
        reader_view = await playlists.get_playlist(conn, c.reader, pid)
        assert reader_view is not None and reader_view.shares == ()
        await playlists.delete_playlist(conn, c.owner.user_id, pid)
        assert await playlists.get_playlist(conn, c.owner, pid) is None


async def test_public_playlists_are_readable_by_anyone(database: Database) -> None:
    c = await cast(database)
    async with database.begin() as conn:
        made = await playlists.create_playlist(conn, c.owner.user_id, "Open", is_public=True)
        await playlists.add_items(conn, c.owner, made.id, c.films[:2])
        seen = await playlists.get_playlist(conn, c.stranger, made.id)
        assert seen is not None and seen.playlist.access is Access.VIEW
        assert len(seen.entries) == 2
        with pytest.raises(PlaylistDenied):
            await playlists.add_items(conn, c.stranger, made.id, c.films[:1])
        # listed for its owner and those it is shared with, not for everyone
        assert await playlists.list_playlists(conn, c.stranger) == []


async def test_list_playlists_owned_and_shared(database: Database) -> None:
    c = await cast(database)
    pid = await shared_playlist(database, c)
    async with database.begin() as conn:
        await playlists.add_items(conn, c.owner, pid, [c.films[0], c.r_film, c.films[0]])
        mine = await playlists.create_playlist(conn, c.editor.user_id, "Alone")
        await playlists.create_playlist(conn, c.stranger.user_id, "Elsewhere")
        listed = await playlists.list_playlists(conn, c.editor)
        assert [(p.name, p.access, p.item_count) for p in listed] == [
            ("Alone", Access.OWN, 0),
            ("Weekend", Access.EDIT, 3),  # an item may stand twice
        ]
        assert listed[0].id == mine.id
        [kids] = await playlists.list_playlists(conn, c.kid)
        assert (kids.name, kids.access, kids.item_count) == ("Weekend", Access.VIEW, 2)


async def test_a_child_sees_only_entries_within_their_limit(database: Database) -> None:
    c = await cast(database)
    pid = await shared_playlist(database, c)
    async with database.begin() as conn:
        await playlists.add_items(conn, c.owner, pid, [c.films[0], c.r_film, c.films[1]])
        detail = await playlists.get_playlist(conn, c.kid, pid)
        assert detail is not None
        assert [e.item.id for e in detail.entries] == [c.films[0], c.films[1]]
        assert detail.playlist.item_count == 2
        full = await playlists.get_playlist(conn, c.owner, pid)
        assert full is not None and len(full.entries) == 3
        # an editor cannot add what they may not see (nor what does not exist); nothing is added
        await playlists.share_playlist(conn, c.owner.user_id, pid, c.kid.user_id, can_edit=True)
        for bad in ([c.films[2], c.r_film], [c.films[2], 999_999]):
            with pytest.raises(PlaylistNotFound):
                await playlists.add_items(conn, c.kid, pid, bad)
        count = sa.select(sa.func.count()).where(playlist_items.c.playlist_id == pid)
        assert (await conn.execute(count)).scalar_one() == 3


async def test_order_survives_many_moves(database: Database) -> None:
    c = await cast(database)
    rng = random.Random(3)
    async with database.begin() as conn:
        made = await playlists.create_playlist(conn, c.owner.user_id, "Shuffle")
        entries = await playlists.add_items(conn, c.owner, made.id, c.films)
        assert entries == sorted(entries)
        model = list(entries)
        moves = [(rng.choice(model), rng.randrange(len(model))) for _ in range(60)]
        # twenty moves into the same slot halve its gap until it closes: renumbering
        moves += [(model[i % 2 + 5], 1) for i in range(20)]
        for entry, index in moves:
            await playlists.move_entry(conn, c.owner.user_id, made.id, entry, index)
            model.remove(entry)
            model.insert(index, entry)
            detail = await playlists.get_playlist(conn, c.owner, made.id)
            assert detail is not None
            assert [e.id for e in detail.entries] == model
        positions = [e.position for e in detail.entries]
        assert positions == sorted(set(positions)) and positions[0] > 0
        # appending after moves goes to the end; removing keeps the rest in order
        [added] = await playlists.add_items(conn, c.owner, made.id, [c.films[0]])
        removed = await playlists.remove_entries(
            conn, c.owner.user_id, made.id, [model[0], model[3], 999_999]
        )
        assert removed == 2
        model = [e for i, e in enumerate(model) if i not in (0, 3)] + [added]
        detail = await playlists.get_playlist(conn, c.owner, made.id)
        assert detail is not None and [e.id for e in detail.entries] == model
