"""The API's request and response models (pydantic), and the mapping from catalog records to them.

Requests (``Body``) forbid unknown fields and are strict: JSON ``"5"`` is not the integer 5, and
``1`` is not ``true``. Query strings (``Query``) arrive as text, so they convert ("5" -> 5,
"true" -> True) but still forbid unknown parameters. Responses are built as these models and
serialised by them, so the OpenAPI document (made from the same models) says what is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ingest.catalog import browse
from ingest.models import ItemType, LibraryKind

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Rating = Annotated[int, Field(ge=0, le=21, description="an age: 0 (all) to 21")]
Year = Annotated[int, Field(ge=1800, le=3000)]


def _no_nul(value: Any) -> Any:
    """Text with a NUL character is refused (PostgreSQL cannot store it; no name needs it)."""
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("text may not contain NUL characters")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    _text = field_validator("*", mode="after")(_no_nul)


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _text = field_validator("*", mode="after")(_no_nul)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def _listed(value: Any) -> Any:
    """A repeated query parameter arrives as a list, a single one as text: ``a,b`` works too."""
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    return value


# --- errors -------------------------------------------------------------------------------------


class ErrorDetail(Out):
    code: str = Field(description="stable, machine-readable: not_found, invalid_request ...")
    message: str
    details: dict[str, Any] | None = Field(
        default=None, description="more about the error, e.g. the fields a request got wrong"
    )


class ErrorResponse(Out):
    """An error: every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


# --- items --------------------------------------------------------------------------------------


class Image(Out):
    kind: str = Field(description="poster, thumb, cover, photo, backdrop, logo")
    width: int
    height: int
    blurhash: str | None
    url: str = Field(description="GET it, optionally resized with ?width=&height=&format=")


class UserState(Out):
    """The asking user's own data about an item."""

    position_us: int = Field(description="resume position in microseconds (0: from the start)")
    played: bool
    is_favorite: bool
    play_count: int
    last_played_at: datetime | None


class Item(Out):
    id: int
    library_id: int
    type: ItemType
    title: str
    year: int | None
    duration_us: int | None
    official_rating: str | None
    community_rating: float | None
    added_at: datetime
    image: Image | None = Field(description="the item's primary picture, or its series' or album's")
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


class ItemPage(Out):
    """A page of items; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[Item]
    next_cursor: str | None = Field(description="null on the last page")
    total: int | None = Field(description="the number of matches, only when asked (?total=true)")


class ItemList(Out):
    """Items, best first."""

    items: list[Item]


class Stream(Out):
    index: int
    kind: str = Field(description="video, audio, subtitle, attachment, data")
    codec: str | None
    profile: str | None
    width: int | None
    height: int | None
    fps: float | None
    bit_rate: int | None
    channels: int | None
    channel_layout: str | None
    sample_rate: int | None
    language: str | None
    title: str | None
    is_default: bool
    is_forced: bool
    external: bool = Field(description="a sidecar file (subtitles next to the video)")


class Chapter(Out):
    index: int
    start_us: int
    end_us: int
    title: str | None


class Credit(Out):
    person_id: int
    name: str
    role: str
    character: str | None


class ItemDetail(Out):
    """One item with everything known about it."""

    item: Item
    original_title: str | None
    overview: str | None
    container: str | None
    bit_rate: int | None
    width: int | None
    height: int | None
    taken_at: datetime | None
    streams: list[Stream]
    chapters: list[Chapter]
    images: list[Image]
    genres: list[str]
    people: list[Credit]


class Season(Out):
    id: int
    number: int
    title: str | None
    episode_count: int
    unplayed_count: int


class SeriesDetail(Out):
    """A series with the seasons the asking user may see."""

    id: int
    library_id: int
    title: str
    year: int | None
    images: list[Image]
    seasons: list[Season]


class SeasonDetail(Out):
    """A season with its episodes in order."""

    id: int
    series_id: int
    series_title: str
    number: int
    title: str | None
    episodes: list[Item]


class AlbumDetail(Out):
    """An album with its tracks in disc and track order."""

    id: int
    library_id: int
    title: str
    artist: str
    year: int | None
    images: list[Image]
    tracks: list[Item]


class Genre(Out):
    id: int
    name: str
    count: int


class GenreList(Out):
    """Genres of the visible items, with item counts, by name."""

    genres: list[Genre]


class YearCount(Out):
    year: int
    count: int


class YearList(Out):
    """Years of the visible items, with item counts, newest first."""

    years: list[YearCount]


class Home(Out):
    """The home screen's rows."""

    continue_watching: list[Item]
    next_up: list[Item]
    recently_added: list[Item]


SortName = Literal["title", "added", "year", "rating"]


class ItemsQuery(Query):
    library_id: Id | None = None
    type: list[ItemType] | None = Field(default=None, description="any of these types")
    genre: list[Id] | None = Field(default=None, description="genre ids (any of them)")
    year: Year | None = Field(default=None, description="exactly this year")
    year_min: Year | None = None
    year_max: Year | None = None
    unwatched: bool = False
    favorite: bool = False
    series_id: Id | None = None
    season_id: Id | None = None
    album_id: Id | None = None
    search: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="a plain substring of the title (accents and case ignored)"
    )
    sort: SortName = "title"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=browse.MAX_LIMIT)] = 50
    cursor: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="the next_cursor of the previous page"
    )
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    total: bool = Field(default=False, description="also count every match (slower)")

    _lists = field_validator("type", "genre", mode="before")(_listed)


class SearchQuery(Query):
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    limit: Annotated[int, Field(ge=1, le=browse.MAX_LIMIT)] = 20


class FacetQuery(Query):
    library_id: Id | None = None
    type: list[ItemType] | None = None

    _lists = field_validator("type", mode="before")(_listed)


class HomeQuery(Query):
    limit: Annotated[int, Field(ge=1, le=50)] = 20


# --- user data ----------------------------------------------------------------------------------


class ProgressBody(Body):
    position_us: Annotated[int, Field(ge=0, le=2**62)]


# --- images -------------------------------------------------------------------------------------


class ImageQuery(Query):
    width: Annotated[int, Field(ge=1, le=4096)] | None = None
    height: Annotated[int, Field(ge=1, le=4096)] | None = None
    format: Literal["webp", "jpeg", "png"] = "webp"


# --- libraries ----------------------------------------------------------------------------------


class LocalSourceBody(Body):
    type: Literal["local"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class S3SourceBody(Body):
    type: Literal["s3"]
    bucket: Annotated[str, StringConstraints(min_length=3, max_length=63)]
    prefix: Annotated[str, StringConstraints(max_length=1024)] = ""
    credentials: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="the name of S3 credentials in the server's settings"
    )


SourceBody = Annotated[LocalSourceBody | S3SourceBody, Field(discriminator="type")]


class LibraryCreate(Body):
    name: Name
    kind: Literal["movies", "shows", "music", "photos", "mixed"]
    sources: Annotated[list[SourceBody], Field(min_length=1, max_length=20)]
    scan: bool = Field(default=True, description="start scanning it at once")


class LibraryUpdate(Body):
    name: Name | None = Field(default=None, description="a new name, unique among libraries")


class SourceAdd(Body):
    source: SourceBody
    scan: bool = True


class Source(Out):
    id: int
    type: str
    path: str | None
    bucket: str | None
    prefix: str
    credentials: str | None


class ScanStatus(Out):
    """A library's scan: queued, running, or the last one this server ran."""

    library_id: int
    state: Literal["idle", "queued", "running", "done", "failed"]
    phase: str
    discovered: int
    unchanged: int
    to_probe: int
    probed: int
    failed: int
    added: int
    updated: int
    moved: int
    removed: int
    source_errors: list[str]
    elapsed_s: float
    files_per_s: float
    last_scan_at: datetime | None


class Library(Out):
    id: int
    name: str
    kind: LibraryKind
    last_scan_at: datetime | None
    created_at: datetime
    sources: list[Source] | None = Field(description="admins only; null for everyone else")


class LibraryList(Out):
    """The libraries the asking user may see, by name."""

    libraries: list[Library]


# --- users --------------------------------------------------------------------------------------

Role = Literal["admin", "member", "child"]


class UserUpdate(Body):
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: (
        Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    role: Role | None = Field(default=None, description="the user's one role")
    max_parental_rating: Rating | None = Field(default=None, description="null: no limit")
    disabled: bool | None = None
    library_ids: list[Id] | None = Field(
        default=None, max_length=10_000, description="the libraries they may see; null: all"
    )


class MeUpdate(Body):
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    current_password: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="needed to set a new password"
    )
    new_password: Annotated[str, StringConstraints(max_length=4096)] | None = None


class UserOut(Out):
    id: int
    username: str
    email: str | None
    display_name: str | None
    provider: str
    roles: list[str]
    max_parental_rating: int | None
    disabled: bool
    library_ids: list[int] | None = Field(description="null: every library")
    created_at: datetime


class UserList(Out):
    """Every user, by id."""

    users: list[UserOut]


class MeUpdated(Out):
    """Your account after the change; a new password ended every session (log in again)."""

    id: int
    display_name: str | None
    sessions_ended: int


# --- playlists ----------------------------------------------------------------------------------


class PlaylistCreate(Body):
    name: Name
    is_public: bool = False


class PlaylistRename(Body):
    name: Name


class PlaylistItemsAdd(Body):
    item_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class PlaylistMove(Body):
    index: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        description="where the entry goes, counted without it (past the end: last)"
    )


class ShareBody(Body):
    can_edit: bool = False


class Playlist(Out):
    id: int
    owner_id: int
    name: str
    is_public: bool
    access: Literal["view", "edit", "own"]
    item_count: int
    created_at: datetime
    updated_at: datetime


class PlaylistList(Out):
    """Your playlists and those shared with you, by name."""

    playlists: list[Playlist]


class PlaylistEntry(Out):
    id: int = Field(description="the entry's id (an item may stand in a playlist twice)")
    position: int
    item: Item


class Share(Out):
    user_id: int
    username: str
    can_edit: bool


class PlaylistDetail(Out):
    """A playlist with the entries you may see, in order (shares: the owner's view only)."""

    playlist: Playlist
    entries: list[PlaylistEntry]
    shares: list[Share]


class EntriesAdded(Out):
    """The new entries' ids, in the order the items were given."""

    entry_ids: list[int]
