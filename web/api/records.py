"""Catalog records as the API's response models (``web.api.schemas``): pure mapping."""

from __future__ import annotations

from typing import Any

from ingest.catalog import browse
from ingest.catalog.records import ImageRecord, SourceRecord
from ingest.catalog.records import Library as LibraryRecord
from ingest.catalog.records import User as UserRecord
from ingest.catalog.userdata import UserData
from ingest.models import StreamInfo
from web.api.schemas import (
    Chapter,
    Credit,
    Image,
    Item,
    ItemDetail,
    Library,
    Source,
    Stream,
    UserOut,
    UserState,
)


def image_url(owner: str, owner_id: int, kind: str) -> str:
    """Where an image is served: ``owner`` is items, series or albums."""
    return f"/api/{owner}/{owner_id}/images/{kind}"


def image_out(ref: browse.ImageRef | ImageRecord, url: str) -> Image:
    return Image(kind=ref.kind, width=ref.width, height=ref.height, blurhash=ref.blurhash, url=url)


def user_state(state: browse.UserState | UserData | None) -> UserState:
    if state is None:
        return UserState(
            position_us=0, played=False, is_favorite=False, play_count=0, last_played_at=None
        )
    return UserState(
        position_us=state.position_us,
        played=state.played,
        is_favorite=state.is_favorite,
        play_count=state.play_count,
        last_played_at=state.last_played_at,
    )


def item_out(s: browse.ItemSummary) -> Item:
    return Item(
        id=s.id,
        library_id=s.library_id,
        type=s.type,
        title=s.title,
        year=s.year,
        duration_us=s.duration_us,
        official_rating=s.official_rating,
        community_rating=s.community_rating,
        added_at=s.added_at,
        image=None
        if s.image is None
        else image_out(s.image, image_url("items", s.id, s.image.kind)),
        user=user_state(s.user),
        series_id=s.series_id,
        series_title=s.series_title,
        season_id=s.season_id,
        season_number=s.season_number,
        episode_number=s.episode_number,
        album_id=s.album_id,
        artist=s.artist,
        disc_number=s.disc_number,
        track_number=s.track_number,
    )


def items_out(summaries: Any) -> list[Item]:
    return [item_out(s) for s in summaries]


def stream_out(s: StreamInfo) -> Stream:
    return Stream(
        index=s.index,
        kind=s.kind,
        codec=s.codec,
        profile=s.profile,
        width=s.width,
        height=s.height,
        fps=None if s.fps is None else round(float(s.fps), 3),
        bit_rate=s.bit_rate,
        channels=s.channels,
        channel_layout=s.channel_layout,
        sample_rate=s.sample_rate,
        language=s.language,
        title=s.title,
        is_default=s.is_default,
        is_forced=s.is_forced,
        external=s.external_key is not None,
    )


def detail_out(d: browse.ItemDetail) -> ItemDetail:
    item = d.item
    return ItemDetail(
        item=item_out(d.summary),
        original_title=item.original_title,
        overview=item.overview,
        container=item.container,
        bit_rate=item.bit_rate,
        width=item.width,
        height=item.height,
        taken_at=item.taken_at,
        streams=[stream_out(s) for s in d.streams if not s.is_attached_pic],
        chapters=[Chapter(index=c.index, start_us=c.start_us, end_us=c.end_us, title=c.title)
                  for c in d.chapters],
        images=[image_out(i, image_url("items", item.id, i.kind)) for i in d.images],
        genres=list(d.genres),
        people=[Credit(person_id=p.person_id, name=p.name, role=p.role, character=p.character)
                for p in d.people],
    )  # fmt: skip


def source_out(s: SourceRecord) -> Source:
    return Source(
        id=s.id,
        type=s.kind,
        path=s.path,
        bucket=s.bucket,
        prefix=s.prefix,
        credentials=s.credentials_ref,
    )


def library_out(lib: LibraryRecord, sources: list[SourceRecord] | None) -> Library:
    return Library(
        id=lib.id,
        name=lib.name,
        kind=lib.kind,
        last_scan_at=lib.last_scan_at,
        created_at=lib.created_at,
        sources=None if sources is None else [source_out(s) for s in sources],
    )


def user_out(user: UserRecord, library_ids: frozenset[int] | None) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        provider=user.provider,
        roles=list(user.roles),
        max_parental_rating=user.max_parental_rating,
        disabled=user.disabled,
        library_ids=None if library_ids is None else sorted(library_ids),
        created_at=user.created_at,
    )
