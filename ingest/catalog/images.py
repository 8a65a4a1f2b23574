"""Queries on images: which items still need one, and recording a rendered image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.records import ImageRecord
from ingest.catalog.schema import images, media_items
from ingest.models import ItemType

# The image each item type gets from its own file.
IMAGE_KIND = {
    ItemType.MOVIE: "thumb",
    ItemType.EPISODE: "thumb",
    ItemType.VIDEO: "thumb",
    ItemType.TRACK: "cover",
    ItemType.PHOTO: "photo",
}


@dataclass(frozen=True, slots=True)
class ImageTodo:
    item_id: int
    source_id: int
    key: str
    type: ItemType
    duration_us: int | None
    version: str


async def items_without_image(
    conn: AsyncConnection, library_id: int, *, after_id: int = 0, limit: int = 200
) -> list[ImageTodo]:
    """Playable items with no image of their kind yet, in id order (resume with ``after_id``)."""
    m = media_items.c
    has_image = sa.exists().where(images.c.item_id == m.id)
    rows = await conn.execute(
        sa.select(m.id, m.source_id, m.key, m.type, m.duration_us, m.version)
        .where(m.library_id == library_id, m.status == "ok", m.id > after_id, ~has_image)
        .order_by(m.id)
        .limit(limit)
    )
    return [
        ImageTodo(r.id, r.source_id, r.key, ItemType(r.type), r.duration_us, r.version)
        for r in rows
        if ItemType(r.type) in IMAGE_KIND
    ]


async def set_image(
    conn: AsyncConnection,
    item_id: int,
    *,
    kind: str,
    store_key: str,
    width: int,
    height: int,
    blurhash: str | None,
) -> None:
    values: dict[str, Any] = {
        "item_id": item_id,
        "kind": kind,
        "store_key": store_key,
        "width": width,
        "height": height,
        "blurhash": blurhash,
    }
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(images).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[images.c.item_id, images.c.kind],
            set_={k: stmt.excluded[k] for k in ("store_key", "width", "height", "blurhash")},
        )
    )


async def get_images(conn: AsyncConnection, item_id: int) -> list[ImageRecord]:
    rows = await conn.execute(
        sa.select(images).where(images.c.item_id == item_id).order_by(images.c.kind)
    )
    return [
        ImageRecord(r.id, r.item_id, r.kind, r.store_key, r.width, r.height, r.blurhash)
        for r in rows
    ]
