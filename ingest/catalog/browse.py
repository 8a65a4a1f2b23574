"""What a viewer may browse: item grids with filters, sorts and cursors, search, details, home rows.

Every query here takes a ``Viewer`` and sees only what that viewer may see: items of libraries the
viewer has access to, rated at or below the viewer's parental limit, probed ``ok``. Anything else is
absent from lists and ``None`` from detail queries, so the API answers 404, never 403, and does not
reveal that a hidden item exists.

Parental ratings: ``media_items.official_rating`` is a label ("PG-13", "TV-MA", "FSK 12", "15"),
mapped to an age through ``RATINGS``. An unrated item, or one whose label is unknown, counts as
adult: a viewer with a limit below ``ADULT`` does not see it. A numeric
``media_items.parental_rating``, when a writer has set it, wins over the label.

Search: ``search_items`` is the typo-tolerant, ranked search box; the ``search`` filter of
``browse_items`` is a plain substring filter over the folded title, the same on both databases.
On PostgreSQL ``search_items`` ranks by pg_trgm word similarity over the trigram index, so
"matirx" finds "The Matrix". SQLite's FTS5 trigram index only knows substrings: exact substring
hits come first, then, when they do not fill the page, rows sharing trigrams with the query are
re-scored here with the same measure (``word_similarity``), so small typos are found there too,
within the ``_FUZZY_CANDIDATES`` best trigram matches.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.images import get_images
from ingest.catalog.items import get_chapters, get_genres, get_item, get_streams
from ingest.catalog.records import ImageRecord, MediaItem
from ingest.catalog.schema import (
    UTCDateTime,
    albums,
    genres,
    images,
    item_genres,
    item_people,
    media_items,
    people,
    seasons,
    series,
    user_data,
)
from ingest.errors import CatalogError
from ingest.models import ChapterInfo, ItemType, StreamInfo
from ingest.text import fold

T = TypeVar("T")
m = media_items.c
ud = user_data.c

MAX_LIMIT = 200
ADULT = 18
SIMILARITY = 0.4  # word similarity a fuzzy search hit needs ("matirx" ~ "the matrix": 0.43)
_FUZZY_CANDIDATES = 200

# Rating labels by country, upper case, with the age each is meant for. A label without its
# country ("R", "PG", "12") means what it means in the first country listed that uses it.
RATINGS: dict[str, dict[str, int]] = {
    "US": {
        "G": 0, "TV-Y": 0, "TV-G": 0, "TV-Y7": 7, "TV-Y7-FV": 7, "PG": 10, "TV-PG": 10,
        "PG-13": 13, "TV-14": 13, "R": 17, "TV-MA": 17, "NC-17": 18,
    },
    "GB": {"U": 0, "UC": 0, "PG": 10, "12": 12, "12A": 12, "15": 15, "18": 18, "R18": 18},
    "DE": {
        "0": 0, "6": 6, "12": 12, "16": 16, "18": 18, "FSK 0": 0, "FSK 6": 6, "FSK 12": 12,
        "FSK 16": 16, "FSK 18": 18, "FSK-0": 0, "FSK-6": 6, "FSK-12": 12, "FSK-16": 16,
        "FSK-18": 18,
    },
    "FR": {"U": 0, "TP": 0, "10": 10, "12": 12, "16": 16, "18": 18},
    "NL": {"AL": 0, "6": 6, "9": 9, "12": 12, "14": 14, "16": 16, "18": 18},
    "AU": {"G": 0, "PG": 10, "M": 15, "MA15+": 15, "R18+": 18, "X18+": 18},
    "CA": {"G": 0, "PG": 10, "14A": 14, "18A": 18, "R": 18},
}  # fmt: skip
_COUNTRY_ALIASES = {"GB": ("UK",)}


@lru_cache(maxsize=1)
def _rating_table() -> dict[str, int]:
    """Every accepted spelling ("PG-13", "US-PG-13", "US:PG-13", "DE-FSK 12") -> age."""
    table: dict[str, int] = {}
    for country, labels in RATINGS.items():
        for label, age in labels.items():
            table.setdefault(label, age)
            for code in (country, *_COUNTRY_ALIASES.get(country, ())):
                for sep in ("-", ":", "/"):
                    table[f"{code}{sep}{label}"] = age
    return table


def rating_age(label: str | None) -> int | None:
    """The age a rating label is meant for; None when unrated or unknown (treated as adult)."""
    if label is None:
        return None
    return _rating_table().get(label.strip().upper())


@lru_cache(maxsize=32)
def _labels_up_to(limit: int) -> tuple[str, ...]:
    return tuple(sorted(label for label, age in _rating_table().items() if age <= limit))


# --- records ------------------------------------------------------------------------------------


class InvalidCursor(CatalogError, ValueError):
    """A cursor that is not one ``browse_items`` wrote for the same sort (API: 400)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: ``library_ids`` None means every library (admins, users granted all: see
    ``users.visible_libraries``); ``max_parental_rating`` None means no limit."""

    user_id: int
    library_ids: frozenset[int] | None = None
    max_parental_rating: int | None = None


class Sort(StrEnum):
    TITLE = "title"  # sort_title
    ADDED = "added"  # added_at
    YEAR = "year"
    RATING = "rating"  # community_rating
    INDEX = "index"  # season/episode, then disc/track: the order within a series or album


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """A grid's filters, sort and page. Empty sets and None filter nothing.

    Pages: pass the previous page's ``next_cursor`` (keyset: stable while items are added), or an
    ``offset``; not both. ``limit`` is capped at ``MAX_LIMIT``. ``descending`` turns the sort key
    around, not the titles that break its ties (A to Z). Items without the sort key (no year, no
    rating) come last in both directions.
    """

    library_id: int | None = None
    types: frozenset[ItemType] = frozenset()
    genre_ids: frozenset[int] = frozenset()  # any of them
    year_min: int | None = None
    year_max: int | None = None
    unwatched: bool = False
    favorite: bool = False
    series_id: int | None = None
    season_id: int | None = None
    album_id: int | None = None
    search: str | None = None
    sort: Sort = Sort.TITLE
    descending: bool = False
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    with_total: bool = False


@dataclass(frozen=True, slots=True)
class ImageRef:
    store_key: str
    kind: str
    width: int
    height: int
    blurhash: str | None


@dataclass(frozen=True, slots=True)
class UserState:
    """The viewer's own data for an item (all defaults when the viewer never touched it)."""

    position_us: int = 0
    played: bool = False
    is_favorite: bool = False
    play_count: int = 0
    last_played_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """What a grid tile or a list row shows."""

    id: int
    library_id: int
    type: ItemType
    title: str
    year: int | None
    duration_us: int | None
    official_rating: str | None
    community_rating: float | None
    added_at: datetime
    image: ImageRef | None  # the item's own poster/cover/thumb, else its series' or album's
    user: UserState
    series_id: int | None
    series_title: str | None
    season_id: int | None
    season_number: int | None
    episode_number: int | None
    album_id: int | None
    artist: str | None
    disc_number: int | None
    track_number: int | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None  # None on the last page
    total: int | None = None  # only when asked for (``with_total``)


@dataclass(frozen=True, slots=True)
class Credit:
    person_id: int
    name: str
    role: str
    character: str | None


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: MediaItem
    summary: ItemSummary
    streams: tuple[StreamInfo, ...]
    chapters: tuple[ChapterInfo, ...]
    images: tuple[ImageRecord, ...]
    genres: tuple[str, ...]
    people: tuple[Credit, ...]


@dataclass(frozen=True, slots=True)
class SeasonSummary:
    id: int
    number: int
    title: str | None
    episode_count: int  # the episodes the viewer may see
    unplayed_count: int


@dataclass(frozen=True, slots=True)
class SeriesDetail:
    id: int
    library_id: int
    title: str
    year: int | None
    images: tuple[ImageRecord, ...]
    seasons: tuple[SeasonSummary, ...]


@dataclass(frozen=True, slots=True)
class SeasonDetail:
    id: int
    series_id: int
    series_title: str
    number: int
    title: str | None
    episodes: tuple[ItemSummary, ...]


@dataclass(frozen=True, slots=True)
class AlbumDetail:
    id: int
    library_id: int
    title: str
    artist: str
    year: int | None
    images: tuple[ImageRecord, ...]
    tracks: tuple[ItemSummary, ...]


@dataclass(frozen=True, slots=True)
class GenreCount:
    id: int
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class YearCount:
    year: int
    count: int


# --- visibility and the shared item select ------------------------------------------------------


def visible(viewer: Viewer, library_id: int | None = None) -> sa.ColumnElement[bool]:
    """The condition on ``media_items`` of what ``viewer`` may see; ``library_id`` when the query
    asks for that one library anyway (the planner then keeps to that library's indexes)."""
    terms: list[sa.ColumnElement[bool]] = [m.status == "ok"]
    if viewer.library_ids is not None and library_id is not None:
        terms.append(sa.true() if library_id in viewer.library_ids else sa.false())
    elif viewer.library_ids is not None:
        terms.append(m.library_id.in_(sorted(viewer.library_ids)))
    limit = viewer.max_parental_rating
    if limit is not None and limit < ADULT:
        terms.append(
            sa.or_(
                m.parental_rating <= limit,
                sa.and_(
                    m.parental_rating.is_(None),
                    sa.func.upper(sa.func.trim(m.official_rating)).in_(_labels_up_to(limit)),
                ),
            )
        )
    return sa.and_(*terms)


_UNPLAYED = sa.or_(ud.played.is_(None), ud.played.is_(False))  # no row yet, or not played


def _with_user_data(viewer: Viewer) -> sa.Join:
    return media_items.outerjoin(
        user_data, sa.and_(ud.item_id == m.id, ud.user_id == viewer.user_id)
    )


def _item_from(viewer: Viewer) -> sa.Join:
    return _with_user_data(viewer).outerjoin(series, series.c.id == m.series_id)


def summary_query(viewer: Viewer) -> sa.Select[Any]:
    """The columns ``summaries`` needs, from the items ``viewer`` may see; callers add the rest."""
    return _summary_columns(viewer).where(visible(viewer))


def _summary_columns(viewer: Viewer) -> sa.Select[Any]:
    """``summary_query`` without the visibility condition, for rows already found visible."""
    return (
        sa.select(
            m.id, m.library_id, m.type, m.title, m.sort_title, m.year, m.duration_us,
            m.official_rating, m.community_rating, m.added_at, m.series_id,
            series.c.title.label("series_title"), m.season_id, m.season_number,
            m.episode_number, m.album_id, m.artist, m.disc_number, m.track_number,
            ud.position_us, ud.played, ud.is_favorite, ud.play_count, ud.last_played_at,
        )
        .select_from(_item_from(viewer))
    )  # fmt: skip


# A tile's picture, best first.
_PRIMARY_KINDS = ("poster", "cover", "photo", "thumb", "backdrop", "logo")


async def summaries(conn: AsyncConnection, rows: Sequence[sa.Row[Any]]) -> list[ItemSummary]:
    """Rows of ``summary_query`` as summaries, with their primary images (one more query)."""
    if not rows:
        return []
    item_ids = [r.id for r in rows]
    series_ids = sorted({r.series_id for r in rows if r.series_id is not None})
    album_ids = sorted({r.album_id for r in rows if r.album_id is not None})
    found = await conn.execute(
        sa.select(
            images.c.item_id, images.c.series_id, images.c.album_id, images.c.kind,
            images.c.store_key, images.c.width, images.c.height, images.c.blurhash,
        ).where(
            sa.or_(
                images.c.item_id.in_(item_ids),
                *([images.c.series_id.in_(series_ids)] if series_ids else []),
                *([images.c.album_id.in_(album_ids)] if album_ids else []),
            )
        )
    )  # fmt: skip
    best: dict[tuple[str, int], tuple[int, ImageRef]] = {}
    for img in found:
        owners = (("item", img.item_id), ("series", img.series_id), ("album", img.album_id))
        owner = next(((kind, i) for kind, i in owners if i is not None), None)
        if owner is None:
            continue
        rank = _PRIMARY_KINDS.index(img.kind) if img.kind in _PRIMARY_KINDS else len(_PRIMARY_KINDS)
        if owner not in best or rank < best[owner][0]:
            ref = ImageRef(img.store_key, img.kind, img.width, img.height, img.blurhash)
            best[owner] = (rank, ref)

    def image(r: sa.Row[Any]) -> ImageRef | None:
        for owner in (("item", r.id), ("series", r.series_id), ("album", r.album_id)):
            if owner in best:
                return best[owner][1]
        return None

    return [
        ItemSummary(
            id=r.id,
            library_id=r.library_id,
            type=ItemType(r.type),
            title=r.title,
            year=r.year,
            duration_us=r.duration_us,
            official_rating=r.official_rating,
            community_rating=r.community_rating,
            added_at=r.added_at,
            image=image(r),
            user=UserState(
                position_us=r.position_us or 0,
                played=bool(r.played),
                is_favorite=bool(r.is_favorite),
                play_count=r.play_count or 0,
                last_played_at=r.last_played_at,
            ),
            series_id=r.series_id,
            series_title=r.series_title,
            season_id=r.season_id,
            season_number=r.season_number,
            episode_number=r.episode_number,
            album_id=r.album_id,
            artist=r.artist,
            disc_number=r.disc_number,
            track_number=r.track_number,
        )
        for r in rows
    ]


async def is_visible(conn: AsyncConnection, viewer: Viewer, item_id: int) -> bool:
    """Whether the item exists for ``viewer`` (check before writing user data or playlists)."""
    query = sa.select(m.id).where(m.id == item_id, visible(viewer))
    return (await conn.execute(query)).first() is not None


# --- browsing -----------------------------------------------------------------------------------

# Each sort's keys: those ``descending`` turns around, then ties A to Z. The id ends every list,
# so that every row has a position of its own.
_SORT_KEYS: dict[Sort, tuple[tuple[sa.Column[Any], ...], tuple[sa.Column[Any], ...]]] = {
    Sort.TITLE: ((m.sort_title, m.id), ()),
    Sort.ADDED: ((m.added_at, m.id), ()),
    Sort.YEAR: ((m.year,), (m.sort_title, m.id)),
    Sort.RATING: ((m.community_rating,), (m.sort_title, m.id)),
    Sort.INDEX: (
        (m.season_number, m.episode_number, m.disc_number, m.track_number),
        (m.sort_title, m.id),
    ),
}


def _keys(sort: Sort, descending: bool) -> list[tuple[sa.Column[Any], bool]]:
    """(column, descending) pairs in order."""
    turned, ties = _SORT_KEYS[sort]
    return [(key, descending) for key in turned] + [(key, False) for key in ties]


def _order(dialect: str, sort: Sort, descending: bool) -> list[sa.UnaryExpression[Any]]:
    """Rows without the key last either way, on both databases. NULLS LAST is written only where
    the database would not put them there anyway (SQLite sorts NULL first, PostgreSQL last), as
    an ORDER BY that says it cannot follow an index."""
    order: list[sa.UnaryExpression[Any]] = []
    for key, desc in _keys(sort, descending):
        by = key.desc() if desc else key.asc()
        natural = desc if dialect == "sqlite" else not desc
        order.append(by.nulls_last() if key.nullable and not natural else by)
    return order


def _after(sort: Sort, descending: bool, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after the row whose sort keys are ``values``, in ``_order(sort)``."""
    terms: list[sa.ColumnElement[bool]] = []
    equal: list[sa.ColumnElement[bool]] = []
    for (key, desc), value in zip(_keys(sort, descending), values, strict=True):
        if value is None:  # nulls are last: only more nulls follow, compared on the next key
            equal.append(key.is_(None))
            continue
        beyond = key < value if desc else key > value
        terms.append(sa.and_(*equal, sa.or_(beyond, key.is_(None)) if key.nullable else beyond))
        equal.append(key == value)
    return sa.or_(*terms)


def _encode_cursor(sort: Sort, descending: bool, row: sa.Row[Any]) -> str:
    values = [getattr(row, key.name) for key, _ in _keys(sort, descending)]
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    payload = json.dumps([sort.value, descending, plain], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: Sort, descending: bool) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, desc, plain = json.loads(raw)
        keys = [key for key, _ in _keys(sort, descending)]
        if name != sort.value or desc is not descending or len(plain) != len(keys):
            raise InvalidCursor("the cursor belongs to another sort")
        values = [_cursor_value(key, value) for key, value in zip(keys, plain, strict=True)]
    except InvalidCursor:
        raise
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursor("not a cursor") from exc
    return values


def _cursor_value(key: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(key.type, UTCDateTime):
        value = datetime.fromisoformat(value)
    expected = key.type.python_type
    if expected is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, expected) or isinstance(value, bool):
        raise InvalidCursor(f"not a cursor: {key.name} is a {expected.__name__}")
    return value


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


_fts = sa.table("media_items_fts", sa.column("rowid"), sa.column("rank"), sa.column("search_title"))


def _substring(dialect: str, needle: str) -> sa.ColumnElement[bool]:
    """Items whose folded title contains ``needle``, through each database's trigram index."""
    if dialect == "sqlite" and len(needle) >= 3:
        matches = sa.select(_fts.c.rowid).where(_fts.c.search_title.match(_phrase(needle)))
        return m.id.in_(matches)
    return m.search_title.contains(needle, autoescape=True)


def _filters(dialect: str, q: ItemQuery) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if q.library_id is not None:
        out.append(m.library_id == q.library_id)
    if len(q.types) == 1:
        out.append(m.type == next(iter(q.types)).value)
    elif q.types:
        out.append(m.type.in_(sorted(t.value for t in q.types)))
    if q.genre_ids:
        # IN, not EXISTS: the planner may then start from the genre's index, and a rare genre
        # is not found by walking the whole library.
        tagged = sa.select(item_genres.c.item_id).where(
            item_genres.c.genre_id.in_(sorted(q.genre_ids))
        )
        out.append(m.id.in_(tagged))
    if q.year_min is not None:
        out.append(m.year >= q.year_min)
    if q.year_max is not None:
        out.append(m.year <= q.year_max)
    if q.unwatched:
        out.append(_UNPLAYED)
    if q.favorite:
        out.append(ud.is_favorite.is_(True))
    if q.series_id is not None:
        out.append(m.series_id == q.series_id)
    if q.season_id is not None:
        # The series narrows the rows through its index; season_id alone has none.
        season_series = sa.select(seasons.c.series_id).where(seasons.c.id == q.season_id)
        out += [m.series_id == season_series.scalar_subquery(), m.season_id == q.season_id]
    if q.album_id is not None:
        out.append(m.album_id == q.album_id)
    needle = fold(q.search or "")
    if needle:
        out.append(_substring(dialect, needle))
    return out


async def browse_items(
    conn: AsyncConnection, viewer: Viewer, query: ItemQuery
) -> Page[ItemSummary]:
    """One page of the items ``viewer`` may see that match ``query``, in its order.

    The page's ids are found first, over ``media_items`` alone (and ``user_data`` when a filter
    needs it), so that sorting carries narrow rows; only the page's rows are then joined for
    display.
    """
    if query.cursor is not None and query.offset:
        raise ValueError("a page is asked for by cursor or by offset, not both")
    dialect = conn.dialect.name
    limit = max(1, min(query.limit, MAX_LIMIT))
    needs_user_data = query.unwatched or query.favorite
    source = _with_user_data(viewer) if needs_user_data else media_items
    matching = (
        sa.select(m.id)
        .select_from(source)
        .where(visible(viewer, query.library_id), *_filters(dialect, query))
    )
    order = _order(dialect, query.sort, query.descending)
    ids = matching.order_by(*order).limit(limit + 1)
    if query.cursor is not None:
        values = _decode_cursor(query.cursor, query.sort, query.descending)
        ids = ids.where(_after(query.sort, query.descending, values))
    elif query.offset > 0:
        ids = ids.offset(query.offset)
    page = ids.subquery("page")
    shown = _summary_columns(viewer).join(page, page.c.id == m.id).order_by(*order)
    rows = (await conn.execute(shown)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    total = None
    if query.with_total:
        counted = sa.select(sa.func.count()).select_from(matching.subquery())
        total = (await conn.execute(counted)).scalar_one()
    return Page(
        items=tuple(await summaries(conn, rows)),
        next_cursor=_encode_cursor(query.sort, query.descending, rows[-1]) if more else None,
        total=total,
    )


async def recently_added(
    conn: AsyncConnection, viewer: Viewer, limit: int = 20, type: ItemType | None = None
) -> list[ItemSummary]:
    query = ItemQuery(
        types=frozenset({type}) if type else frozenset(),
        sort=Sort.ADDED,
        descending=True,
        limit=limit,
    )
    return list((await browse_items(conn, viewer, query)).items)


async def continue_watching(
    conn: AsyncConnection, viewer: Viewer, limit: int = 20
) -> list[ItemSummary]:
    """Items with a resume point, the most recently played first."""
    query = (
        summary_query(viewer)
        .where(ud.position_us > 0)
        .order_by(ud.last_played_at.desc().nulls_last(), m.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return await summaries(conn, (await conn.execute(query)).all())


async def next_up(conn: AsyncConnection, viewer: Viewer, limit: int = 20) -> list[ItemSummary]:
    """Per series the viewer has played episodes of, the first unplayed episode after the last
    played one in season/episode order; the series watched most recently first."""
    order = (sa.func.coalesce(m.season_number, 0), sa.func.coalesce(m.episode_number, 0), m.id)
    last = (
        sa.select(
            m.series_id,
            *(o.label(f"k{i}") for i, o in enumerate(order)),
            sa.func.row_number()
            .over(partition_by=m.series_id, order_by=[o.desc() for o in order])
            .label("rn"),
            sa.func.max(ud.last_played_at).over(partition_by=m.series_id).label("watched_at"),
        )
        .select_from(media_items.join(user_data, ud.item_id == m.id))
        .where(
            ud.user_id == viewer.user_id,
            ud.played.is_(True),
            m.type == ItemType.EPISODE.value,
            m.series_id.is_not(None),
            visible(viewer),
        )
        .subquery("last_played")
    )
    following = (
        sa.select(
            m.id,
            last.c.watched_at,
            sa.func.row_number().over(partition_by=m.series_id, order_by=order).label("rn"),
        )
        .select_from(_with_user_data(viewer).join(last, last.c.series_id == m.series_id))
        .where(
            last.c.rn == 1,
            m.type == ItemType.EPISODE.value,
            _UNPLAYED,
            sa.tuple_(*order) > sa.tuple_(last.c.k0, last.c.k1, last.c.k2),
            visible(viewer),
        )
        .subquery("following")
    )
    query = (
        summary_query(viewer)
        .join(following, following.c.id == m.id)
        .where(following.c.rn == 1)
        .order_by(following.c.watched_at.desc().nulls_last(), m.id)
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return await summaries(conn, (await conn.execute(query)).all())


# --- search -------------------------------------------------------------------------------------


def _trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each word padded with two spaces before and one after."""
    grams: set[str] = set()
    for word in fold(text).split():
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def word_similarity(needle: str, text: str) -> float:
    """The share of the needle's trigrams found in ``text`` (pg_trgm's word_similarity, nearly)."""
    wanted = _trigrams(needle)
    return len(wanted & _trigrams(text)) / len(wanted) if wanted else 0.0


async def search_items(
    conn: AsyncConnection, viewer: Viewer, text: str, limit: int = 20
) -> list[ItemSummary]:
    """The visible items whose title best matches ``text``, best first (accents, case and
    punctuation ignored; small typos forgiven: see the module docstring for each database)."""
    needle = fold(text)
    if not needle:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    base = summary_query(viewer)
    if conn.dialect.name == "postgresql":
        # The %> operator's threshold, for this transaction only.
        threshold = sa.func.set_config("pg_trgm.word_similarity_threshold", str(SIMILARITY), True)
        await conn.execute(sa.select(threshold))
        query = (
            base.where(m.search_title.op("%>")(needle))
            .order_by(
                sa.func.word_similarity(needle, m.search_title).desc(),
                sa.func.similarity(needle, m.search_title).desc(),
                m.sort_title,
                m.id,
            )
            .limit(limit)
        )
        return await summaries(conn, (await conn.execute(query)).all())
    if len(needle) < 3:  # below the trigram index: a title prefix
        query = base.where(m.sort_title.startswith(needle, autoescape=True))
        rows = (await conn.execute(query.order_by(m.sort_title, m.id).limit(limit))).all()
        return await summaries(conn, rows)
    exact = (
        base.join(_fts, _fts.c.rowid == m.id)
        .where(_fts.c.search_title.match(_phrase(needle)))
        .order_by(_fts.c.rank, m.sort_title, m.id)
        .limit(limit)
    )
    rows = list((await conn.execute(exact)).all())
    grams = sorted({g for word in needle.split() for g in _inner_trigrams(word)})
    if len(rows) < limit and grams:
        fuzzy = (
            base.add_columns(m.search_title)
            .join(_fts, _fts.c.rowid == m.id)
            .where(
                _fts.c.search_title.match(" OR ".join(_phrase(g) for g in grams)),
                m.id.not_in([r.id for r in rows]),
            )
            .order_by(_fts.c.rank)
            .limit(_FUZZY_CANDIDATES)
        )
        scored = [(word_similarity(needle, r.search_title), r) for r in await conn.execute(fuzzy)]
        scored = [(s, r) for s, r in scored if s >= SIMILARITY]
        scored.sort(key=lambda sr: (-sr[0], sr[1].sort_title, sr[1].id))
        rows += [r for _, r in scored[: limit - len(rows)]]
    return await summaries(conn, rows)


def _inner_trigrams(word: str) -> Iterable[str]:
    return (word[i : i + 3] for i in range(len(word) - 2))


# --- details ------------------------------------------------------------------------------------


async def item_detail(conn: AsyncConnection, viewer: Viewer, item_id: int) -> ItemDetail | None:
    """Everything about one item the viewer may see; None when absent or hidden from them."""
    rows = (await conn.execute(summary_query(viewer).where(m.id == item_id))).all()
    item = await get_item(conn, item_id) if rows else None
    if item is None:
        return None
    [summary] = await summaries(conn, rows)
    credits = await conn.execute(
        sa.select(people.c.id, people.c.name, item_people.c.role, item_people.c.character)
        .join(item_people, item_people.c.person_id == people.c.id)
        .where(item_people.c.item_id == item_id)
        .order_by(item_people.c.ordinal, people.c.name)
    )
    return ItemDetail(
        item=item,
        summary=summary,
        streams=tuple(await get_streams(conn, item_id)),
        chapters=tuple(await get_chapters(conn, item_id)),
        images=tuple(await get_images(conn, item_id)),
        genres=tuple(await get_genres(conn, item_id)),
        people=tuple(Credit(r.id, r.name, r.role, r.character) for r in credits),
    )


async def _group_images(
    conn: AsyncConnection, column: sa.Column[Any], group_id: int
) -> tuple[ImageRecord, ...]:
    rows = await conn.execute(sa.select(images).where(column == group_id).order_by(images.c.kind))
    return tuple(
        ImageRecord(r.id, r.item_id, r.kind, r.store_key, r.width, r.height, r.blurhash)
        for r in rows
    )


async def _children(
    conn: AsyncConnection, viewer: Viewer, *where: sa.ColumnElement[bool]
) -> tuple[ItemSummary, ...]:
    query = summary_query(viewer).where(*where)
    query = query.order_by(*_order(conn.dialect.name, Sort.INDEX, False))
    return tuple(await summaries(conn, (await conn.execute(query)).all()))


async def series_detail(
    conn: AsyncConnection, viewer: Viewer, series_id: int
) -> SeriesDetail | None:
    """A series and its seasons with the viewer's episode counts; None when the viewer may see
    none of its episodes."""
    unplayed = sa.case((ud.played.is_(True), 0), else_=1)
    counts = (
        await conn.execute(
            sa.select(seasons.c.id, seasons.c.number, seasons.c.title, sa.func.count(m.id),
                      sa.func.sum(unplayed))
            .select_from(_item_from(viewer).join(seasons, seasons.c.id == m.season_id))
            .where(m.series_id == series_id, visible(viewer))
            .group_by(seasons.c.id, seasons.c.number, seasons.c.title)
            .order_by(seasons.c.number)
        )
    ).all()  # fmt: skip
    if not counts:
        return None
    s = (await conn.execute(sa.select(series).where(series.c.id == series_id))).one()
    return SeriesDetail(
        id=s.id,
        library_id=s.library_id,
        title=s.title,
        year=s.year,
        images=await _group_images(conn, images.c.series_id, series_id),
        seasons=tuple(SeasonSummary(*row) for row in counts),
    )


async def season_detail(
    conn: AsyncConnection, viewer: Viewer, season_id: int
) -> SeasonDetail | None:
    season = (
        await conn.execute(
            sa.select(seasons, series.c.title.label("series_title"))
            .join(series, series.c.id == seasons.c.series_id)
            .where(seasons.c.id == season_id)
        )
    ).one_or_none()
    if season is None:
        return None
    episodes = await _children(
        conn, viewer, m.series_id == season.series_id, m.season_id == season_id
    )
    if not episodes:
        return None
    return SeasonDetail(
        season.id, season.series_id, season.series_title, season.number, season.title, episodes
    )


async def album_detail(conn: AsyncConnection, viewer: Viewer, album_id: int) -> AlbumDetail | None:
    album = (await conn.execute(sa.select(albums).where(albums.c.id == album_id))).one_or_none()
    tracks = await _children(conn, viewer, m.album_id == album_id) if album else ()
    if album is None or not tracks:
        return None
    return AlbumDetail(
        id=album.id,
        library_id=album.library_id,
        title=album.title,
        artist=album.artist,
        year=album.year,
        images=await _group_images(conn, images.c.album_id, album_id),
        tracks=tracks,
    )


# --- facets -------------------------------------------------------------------------------------


async def list_genres(
    conn: AsyncConnection, viewer: Viewer, query: ItemQuery | None = None
) -> list[GenreCount]:
    """The genres of the visible items matching ``query``'s filters, with item counts, by name."""
    query = query or ItemQuery()
    rows = await conn.execute(
        sa.select(genres.c.id, genres.c.name, sa.func.count())
        .select_from(
            _item_from(viewer)
            .join(item_genres, item_genres.c.item_id == m.id)
            .join(genres, genres.c.id == item_genres.c.genre_id)
        )
        .where(visible(viewer, query.library_id), *_filters(conn.dialect.name, query))
        .group_by(genres.c.id, genres.c.name)
        .order_by(genres.c.name)
    )
    return [GenreCount(*row) for row in rows]


async def list_years(
    conn: AsyncConnection, viewer: Viewer, query: ItemQuery | None = None
) -> list[YearCount]:
    """The years of the visible items matching ``query``'s filters, with counts, newest first."""
    query = query or ItemQuery()
    rows = await conn.execute(
        sa.select(m.year, sa.func.count())
        .select_from(_item_from(viewer))
        .where(
            visible(viewer, query.library_id),
            m.year.is_not(None),
            *_filters(conn.dialect.name, query),
        )
        .group_by(m.year)
        .order_by(m.year.desc())
    )
    return [YearCount(*row) for row in rows]
