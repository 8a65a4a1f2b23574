"""Queries on media items and what hangs off them: streams, keyframes, chapters, genres, people.

The scanner is the only writer of items (one scan per library at a time); ``write_items`` applies
one batch of scan outcomes in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.segmenter.keyframes import KeyframeIndex
from ingest.catalog.records import Fingerprint, MediaItem
from ingest.catalog.schema import (
    albums,
    chapters,
    genres,
    item_genres,
    item_people,
    keyframes,
    media_items,
    people,
    seasons,
    series,
    streams,
)
from ingest.models import ChapterInfo, Entry, ItemType, ItemWrite, StreamInfo
from ingest.text import fold, sort_title

# --- reads for the scanner ----------------------------------------------------------------------


async def load_fingerprints(conn: AsyncConnection, source_id: int) -> dict[str, Fingerprint]:
    c = media_items.c
    rows = await conn.execute(
        sa.select(
            c.id, c.key, c.size, c.mtime_ns, c.etag, c.status, c.content_hash, c.version
        ).where(c.source_id == source_id)
    )
    return {
        r.key: Fingerprint(
            item_id=r.id,
            key=r.key,
            size=r.size,
            mtime_ns=r.mtime_ns,
            etag=r.etag,
            status=r.status,
            content_hash=r.content_hash,
            version=r.version,
        )
        for r in rows
    }


# --- writes -------------------------------------------------------------------------------------


async def write_items(
    conn: AsyncConnection,
    library_id: int,
    source_id: int,
    writes: Sequence[ItemWrite],
    existing: Mapping[str, Fingerprint],
) -> list[int]:
    """Insert new files, update changed ones; returns the item ids in the order of ``writes``.

    A failed probe of a file already in the catalog keeps everything known about it (titles,
    streams, user data) and only records the status and reason. An ``unreadable`` failure does not
    even take the new fingerprint, so the next scan tries the file again.

    The batch costs a handful of statements whatever its size (one multi-row INSERT ... RETURNING,
    one executemany per child table), which matters most on SQLite, where every statement is a
    round trip to aiosqlite's thread.
    """
    groups = _GroupCache(conn, library_id)
    now = datetime.now(UTC)
    ids: list[int] = [0] * len(writes)
    inserts: list[tuple[int, dict[str, Any]]] = []
    updates: list[dict[str, Any]] = []
    for pos, write in enumerate(writes):
        known = existing.get(write.entry.key)
        if write.status != "ok" and known is not None:
            values: dict[str, Any] = {"status": write.status, "error_reason": write.error_reason}
            if write.status != "unreadable":
                values.update(_fingerprint_values(write), version=write.version)
            await conn.execute(
                media_items.update().where(media_items.c.id == known.item_id).values(**values)
            )
            ids[pos] = known.item_id
            continue
        values = await _item_values(groups, write, now)
        if known is None:
            inserts.append((pos, values))
        else:
            ids[pos] = known.item_id
            updates.append({"b_id": known.item_id, **values})
    if inserts:
        rows = [
            {
                "library_id": library_id,
                "source_id": source_id,
                "key": writes[pos].entry.key,
                "added_at": now,
                **values,
            }
            for pos, values in inserts
        ]
        result = await conn.execute(
            media_items.insert().returning(media_items.c.id, sort_by_parameter_order=True), rows
        )
        for (pos, _values), item_id in zip(inserts, result.scalars(), strict=True):
            ids[pos] = item_id
    if updates:
        await conn.execute(
            media_items.update().where(media_items.c.id == sa.bindparam("b_id")), updates
        )
        replaced = [row["b_id"] for row in updates]
        for table in (streams, keyframes, chapters, item_genres, item_people):
            await conn.execute(table.delete().where(table.c.item_id.in_(replaced)))
    rewritten = {pos for pos, _ in inserts} | {
        pos for pos, w in enumerate(writes) if w.status == "ok" and w.entry.key in existing
    }
    await _write_children(conn, groups, [(ids[pos], writes[pos]) for pos in sorted(rewritten)])
    return ids


async def move_item(
    conn: AsyncConnection, item_id: int, source_id: int, entry: Entry, version: str
) -> None:
    """A file renamed or moved (same content hash): keep the item, its id and its user data."""
    await conn.execute(
        media_items.update()
        .where(media_items.c.id == item_id)
        .values(
            source_id=source_id,
            key=entry.key,
            size=entry.size,
            mtime_ns=entry.mtime_ns,
            etag=entry.etag,
            version=version,
        )
    )


async def delete_items(conn: AsyncConnection, item_ids: Iterable[int]) -> int:
    ids = list(item_ids)
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        result = await conn.execute(media_items.delete().where(media_items.c.id.in_(chunk)))
        deleted += result.rowcount
    return deleted


async def prune_empty_groups(conn: AsyncConnection, library_id: int) -> None:
    """Drop series, seasons and albums whose last item went away."""
    await conn.execute(
        seasons.delete().where(
            ~sa.exists().where(media_items.c.season_id == seasons.c.id),
            seasons.c.series_id.in_(
                sa.select(series.c.id).where(series.c.library_id == library_id)
            ),
        )
    )
    await conn.execute(
        series.delete().where(
            series.c.library_id == library_id,
            ~sa.exists().where(media_items.c.series_id == series.c.id),
        )
    )
    await conn.execute(
        albums.delete().where(
            albums.c.library_id == library_id,
            ~sa.exists().where(media_items.c.album_id == albums.c.id),
        )
    )


def _fingerprint_values(write: ItemWrite) -> dict[str, Any]:
    return {"size": write.entry.size, "mtime_ns": write.entry.mtime_ns, "etag": write.entry.etag}


async def _item_values(groups: _GroupCache, write: ItemWrite, now: datetime) -> dict[str, Any]:
    t = write.titles
    probe = write.probe
    video = probe.video if probe else None
    series_id = season_id = album_id = None
    if t.type is ItemType.EPISODE and t.series_title:
        series_id = await groups.series(t.series_title, None)
        season_id = await groups.season(series_id, t.season_number or 1)
    if t.type is ItemType.TRACK and t.album:
        album_id = await groups.album(t.album, t.album_artist or t.artist or "", t.year)
    return {
        **_fingerprint_values(write),
        "type": t.type.value,
        "status": write.status,
        "error_reason": write.error_reason,
        "content_hash": write.content_hash,
        "version": write.version,
        "title": t.title,
        "sort_title": sort_title(t.title),
        "search_title": fold(" ".join(filter(None, (t.series_title, t.title, t.original_title)))),
        "original_title": t.original_title,
        "year": t.year,
        "overview": t.overview,
        "official_rating": t.official_rating,
        "community_rating": t.community_rating,
        "metadata": {**t.extra, **({"tags": probe.tags} if probe and probe.tags else {})},
        "container": probe.container if probe else None,
        "duration_us": probe.duration_us if probe else None,
        "bit_rate": probe.bit_rate if probe else None,
        "width": video.width if video else None,
        "height": video.height if video else None,
        "series_id": series_id,
        "season_id": season_id,
        "season_number": t.season_number,
        "episode_number": t.episode_number,
        "episode_number_end": t.episode_number_end,
        "album_id": album_id,
        "artist": t.artist,
        "track_number": t.track_number,
        "disc_number": t.disc_number,
        "taken_at": t.taken_at,
        "probed_at": now if probe else None,
    }


async def _write_children(
    conn: AsyncConnection, groups: _GroupCache, written: Sequence[tuple[int, ItemWrite]]
) -> None:
    """Streams, keyframes, chapters, genres and people of freshly written items, per table."""
    stream_rows: list[dict[str, Any]] = []
    keyframe_rows: list[dict[str, Any]] = []
    chapter_rows: list[dict[str, Any]] = []
    genre_rows: list[dict[str, Any]] = []
    people_rows: list[dict[str, Any]] = []
    for item_id, write in written:
        probe = write.probe
        all_streams = (*(probe.streams if probe else ()), *write.sidecar_subtitles)
        stream_rows.extend(_stream_row(item_id, st) for st in all_streams)
        if probe and probe.keyframes is not None and probe.keyframe_stream is not None:
            keyframe_rows.append(
                {
                    "item_id": item_id,
                    "stream_index": probe.keyframe_stream,
                    "count": len(probe.keyframes.pts),
                    "data": probe.keyframes.pack(),
                }
            )
        for ch in probe.chapters if probe else ():
            chapter_rows.append(
                {
                    "item_id": item_id,
                    "index": ch.index,
                    "start_us": ch.start_us,
                    "end_us": ch.end_us,
                    "title": ch.title,
                }
            )
        genre_ids = {await groups.genre(name) for name in write.titles.genres if name.strip()}
        genre_rows.extend({"item_id": item_id, "genre_id": g} for g in sorted(genre_ids))
        seen: set[tuple[int, str]] = set()
        for ordinal, person in enumerate(write.titles.people):
            if not person.name.strip():
                continue
            person_id = await groups.person(person.name)
            if (person_id, person.role) in seen:
                continue
            seen.add((person_id, person.role))
            people_rows.append(
                {
                    "item_id": item_id,
                    "person_id": person_id,
                    "role": person.role,
                    "character": person.character,
                    "ordinal": ordinal,
                }
            )
    for table, rows in (
        (streams, stream_rows),
        (keyframes, keyframe_rows),
        (chapters, chapter_rows),
        (item_genres, genre_rows),
        (item_people, people_rows),
    ):
        if rows:
            await conn.execute(table.insert(), rows)


def _stream_row(item_id: int, s: StreamInfo) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "index": s.index,
        "kind": s.kind,
        "codec": s.codec,
        "profile": s.profile,
        "level": s.level,
        "pix_fmt": s.pix_fmt,
        "bit_depth": s.bit_depth,
        "color_transfer": s.color_transfer,
        "width": s.width,
        "height": s.height,
        "fps_num": s.fps.numerator if s.fps else None,
        "fps_den": s.fps.denominator if s.fps else None,
        "time_base_num": s.time_base.numerator if s.time_base else None,
        "time_base_den": s.time_base.denominator if s.time_base else None,
        "bit_rate": s.bit_rate,
        "channels": s.channels,
        "channel_layout": s.channel_layout,
        "sample_rate": s.sample_rate,
        "language": s.language,
        "title": s.title,
        "is_default": s.is_default,
        "is_forced": s.is_forced,
        "is_attached_pic": s.is_attached_pic,
        "external_key": s.external_key,
    }


class _GroupCache:
    """Get-or-create of series, seasons, albums, genres and people, memoised for one batch."""

    def __init__(self, conn: AsyncConnection, library_id: int) -> None:
        self._conn = conn
        self._library_id = library_id
        self._memo: dict[tuple[Any, ...], int] = {}

    async def _get_or_create(
        self, table: sa.Table, match: Mapping[str, Any], extra: Mapping[str, Any]
    ) -> int:
        memo_key = (table.name, *sorted(match.items()))
        if memo_key in self._memo:
            return self._memo[memo_key]
        where = [table.c[k] == v for k, v in match.items()]
        found = (await self._conn.execute(sa.select(table.c.id).where(*where))).scalar()
        if found is None:
            insert = _insert(self._conn, table).values(**match, **extra)
            await self._conn.execute(insert.on_conflict_do_nothing())
            found = (await self._conn.execute(sa.select(table.c.id).where(*where))).scalar_one()
        self._memo[memo_key] = found
        return int(found)

    async def series(self, title: str, year: int | None) -> int:
        return await self._get_or_create(
            series,
            {"library_id": self._library_id, "sort_title": sort_title(title)},
            {"title": title, "search_title": fold(title), "year": year, "metadata": {}},
        )

    async def season(self, series_id: int, number: int) -> int:
        return await self._get_or_create(seasons, {"series_id": series_id, "number": number}, {})

    async def album(self, title: str, artist: str, year: int | None) -> int:
        return await self._get_or_create(
            albums,
            {"library_id": self._library_id, "artist": artist, "sort_title": sort_title(title)},
            {"title": title, "search_title": fold(f"{artist} {title}"), "year": year},
        )

    async def genre(self, name: str) -> int:
        return await self._get_or_create(genres, {"name": name.strip()[:128]}, {})

    async def person(self, name: str) -> int:
        return await self._get_or_create(people, {"name": name.strip()[:256]}, {})


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# --- reads --------------------------------------------------------------------------------------


def _item(row: sa.Row[Any]) -> MediaItem:
    return MediaItem(
        id=row.id,
        library_id=row.library_id,
        source_id=row.source_id,
        key=row.key,
        type=ItemType(row.type),
        status=row.status,
        error_reason=row.error_reason,
        title=row.title,
        sort_title=row.sort_title,
        original_title=row.original_title,
        year=row.year,
        overview=row.overview,
        size=row.size,
        version=row.version,
        container=row.container,
        duration_us=row.duration_us,
        bit_rate=row.bit_rate,
        width=row.width,
        height=row.height,
        series_id=row.series_id,
        season_number=row.season_number,
        episode_number=row.episode_number,
        album_id=row.album_id,
        artist=row.artist,
        track_number=row.track_number,
        disc_number=row.disc_number,
        taken_at=row.taken_at,
        official_rating=row.official_rating,
        community_rating=row.community_rating,
        added_at=row.added_at,
        metadata=dict(row.metadata or {}),
    )


async def get_item(conn: AsyncConnection, item_id: int) -> MediaItem | None:
    row = (
        await conn.execute(sa.select(media_items).where(media_items.c.id == item_id))
    ).one_or_none()
    return _item(row) if row else None


async def get_item_by_key(conn: AsyncConnection, source_id: int, key: str) -> MediaItem | None:
    row = (
        await conn.execute(
            sa.select(media_items).where(
                media_items.c.source_id == source_id, media_items.c.key == key
            )
        )
    ).one_or_none()
    return _item(row) if row else None


async def list_items(
    conn: AsyncConnection,
    *,
    library_id: int | None = None,
    item_type: ItemType | None = None,
    status: str | None = "ok",
    limit: int = 100,
    offset: int = 0,
) -> list[MediaItem]:
    query = sa.select(media_items)
    if library_id is not None:
        query = query.where(media_items.c.library_id == library_id)
    if item_type is not None:
        query = query.where(media_items.c.type == item_type.value)
    if status is not None:
        query = query.where(media_items.c.status == status)
    query = query.order_by(media_items.c.sort_title, media_items.c.id).limit(limit).offset(offset)
    return [_item(row) for row in await conn.execute(query)]


async def count_by_status(conn: AsyncConnection, library_id: int) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(media_items.c.status, sa.func.count())
        .where(media_items.c.library_id == library_id)
        .group_by(media_items.c.status)
    )
    return {status: count for status, count in rows.tuples()}


async def get_streams(conn: AsyncConnection, item_id: int) -> list[StreamInfo]:
    rows = await conn.execute(
        sa.select(streams).where(streams.c.item_id == item_id).order_by(streams.c.index)
    )
    return [
        StreamInfo(
            index=r._mapping["index"],
            kind=r.kind,
            codec=r.codec,
            profile=r.profile,
            level=r.level,
            pix_fmt=r.pix_fmt,
            bit_depth=r.bit_depth,
            color_transfer=r.color_transfer,
            width=r.width,
            height=r.height,
            fps=Fraction(r.fps_num, r.fps_den) if r.fps_num and r.fps_den else None,
            time_base=(
                Fraction(r.time_base_num, r.time_base_den)
                if r.time_base_num and r.time_base_den
                else None
            ),
            bit_rate=r.bit_rate,
            channels=r.channels,
            channel_layout=r.channel_layout,
            sample_rate=r.sample_rate,
            language=r.language,
            title=r.title,
            is_default=r.is_default,
            is_forced=r.is_forced,
            is_attached_pic=r.is_attached_pic,
            external_key=r.external_key,
        )
        for r in rows
    ]


async def get_keyframes(conn: AsyncConnection, item_id: int) -> tuple[int, KeyframeIndex] | None:
    """The stream index and keyframe index of an item's main video stream, if it has one."""
    row = (
        await conn.execute(
            sa.select(keyframes.c.stream_index, keyframes.c.data)
            .where(keyframes.c.item_id == item_id)
            .order_by(keyframes.c.stream_index)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return row.stream_index, KeyframeIndex.unpack(row.data)


async def get_chapters(conn: AsyncConnection, item_id: int) -> list[ChapterInfo]:
    rows = await conn.execute(
        sa.select(chapters).where(chapters.c.item_id == item_id).order_by(chapters.c.index)
    )
    return [ChapterInfo(r._mapping["index"], r.start_us, r.end_us, r.title) for r in rows]


async def get_genres(conn: AsyncConnection, item_id: int) -> list[str]:
    rows = await conn.execute(
        sa.select(genres.c.name)
        .join(item_genres, item_genres.c.genre_id == genres.c.id)
        .where(item_genres.c.item_id == item_id)
        .order_by(genres.c.name)
    )
    return list(rows.scalars())
