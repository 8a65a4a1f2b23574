"""Queries on libraries, their sources and scan runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog.records import Library, ScanRun, SourceRecord
from ingest.catalog.schema import libraries, media_sources, scan_runs
from ingest.models import LibraryKind


def _library(row: sa.Row[Any]) -> Library:
    return Library(
        id=row.id,
        name=row.name,
        kind=LibraryKind(row.kind),
        settings=dict(row.settings or {}),
        last_scan_at=row.last_scan_at,
        created_at=row.created_at,
    )


def _source(row: sa.Row[Any]) -> SourceRecord:
    return SourceRecord(
        id=row.id,
        library_id=row.library_id,
        kind=row.kind,
        path=row.path,
        bucket=row.bucket,
        prefix=row.prefix,
        credentials_ref=row.credentials_ref,
    )


async def create_library(
    conn: AsyncConnection,
    name: str,
    kind: LibraryKind,
    settings: Mapping[str, Any] | None = None,
) -> Library:
    row = (
        await conn.execute(
            libraries.insert()
            .values(name=name, kind=kind.value, settings=dict(settings or {}))
            .returning(*libraries.c)
        )
    ).one()
    return _library(row)


async def get_library(conn: AsyncConnection, library_id: int) -> Library | None:
    row = (
        await conn.execute(sa.select(libraries).where(libraries.c.id == library_id))
    ).one_or_none()
    return _library(row) if row else None


async def get_library_by_name(conn: AsyncConnection, name: str) -> Library | None:
    row = (await conn.execute(sa.select(libraries).where(libraries.c.name == name))).one_or_none()
    return _library(row) if row else None


async def list_libraries(conn: AsyncConnection) -> list[Library]:
    rows = await conn.execute(sa.select(libraries).order_by(libraries.c.name))
    return [_library(row) for row in rows]


async def rename_library(conn: AsyncConnection, library_id: int, name: str) -> Library | None:
    row = (
        await conn.execute(
            libraries.update()
            .where(libraries.c.id == library_id)
            .values(name=name)
            .returning(*libraries.c)
        )
    ).one_or_none()
    return _library(row) if row else None


async def delete_library(conn: AsyncConnection, library_id: int) -> bool:
    result = await conn.execute(libraries.delete().where(libraries.c.id == library_id))
    return result.rowcount > 0


async def add_local_source(conn: AsyncConnection, library_id: int, path: str) -> SourceRecord:
    row = (
        await conn.execute(
            media_sources.insert()
            .values(library_id=library_id, kind="local", path=path, prefix="")
            .returning(*media_sources.c)
        )
    ).one()
    return _source(row)


async def add_s3_source(
    conn: AsyncConnection,
    library_id: int,
    bucket: str,
    prefix: str = "",
    credentials_ref: str | None = None,
) -> SourceRecord:
    row = (
        await conn.execute(
            media_sources.insert()
            .values(
                library_id=library_id,
                kind="s3",
                bucket=bucket,
                prefix=prefix,
                credentials_ref=credentials_ref,
            )
            .returning(*media_sources.c)
        )
    ).one()
    return _source(row)


async def list_sources(conn: AsyncConnection, library_id: int) -> list[SourceRecord]:
    rows = await conn.execute(
        sa.select(media_sources)
        .where(media_sources.c.library_id == library_id)
        .order_by(media_sources.c.id)
    )
    return [_source(row) for row in rows]


async def remove_source(conn: AsyncConnection, library_id: int, source_id: int) -> bool:
    """Remove a source of ``library_id`` and, with it, its items (the foreign key cascades)."""
    result = await conn.execute(
        media_sources.delete().where(
            media_sources.c.id == source_id, media_sources.c.library_id == library_id
        )
    )
    return result.rowcount > 0


async def find_local_source(conn: AsyncConnection, path: str) -> SourceRecord | None:
    row = (
        await conn.execute(
            sa.select(media_sources).where(
                media_sources.c.kind == "local", media_sources.c.path == path
            )
        )
    ).first()
    return _source(row) if row else None


async def start_scan_run(conn: AsyncConnection, library_id: int) -> int:
    run_id: int = (
        await conn.execute(
            scan_runs.insert()
            .values(library_id=library_id, state="running", stats={})
            .returning(scan_runs.c.id)
        )
    ).scalar_one()
    return run_id


async def finish_scan_run(
    conn: AsyncConnection, run_id: int, library_id: int, state: str, stats: Mapping[str, Any]
) -> None:
    now = datetime.now(UTC)
    await conn.execute(
        scan_runs.update()
        .where(scan_runs.c.id == run_id)
        .values(state=state, finished_at=now, stats=dict(stats))
    )
    await conn.execute(
        libraries.update().where(libraries.c.id == library_id).values(last_scan_at=now)
    )


async def last_scan_runs(conn: AsyncConnection, library_id: int, limit: int = 10) -> list[ScanRun]:
    rows = await conn.execute(
        sa.select(scan_runs)
        .where(scan_runs.c.library_id == library_id)
        .order_by(scan_runs.c.started_at.desc(), scan_runs.c.id.desc())
        .limit(limit)
    )
    return [
        ScanRun(
            id=r.id,
            library_id=r.library_id,
            started_at=r.started_at,
            finished_at=r.finished_at,
            state=r.state,
            stats=dict(r.stats or {}),
        )
        for r in rows
    ]


async def ensure_local_library(
    conn: AsyncConnection, path: str, kind: LibraryKind, name: str | None = None
) -> Library:
    """The library that has ``path`` as a source, created (with a free name) if there is none."""
    source = await find_local_source(conn, path)
    if source is not None:
        library = await get_library(conn, source.library_id)
        assert library is not None
        return library
    base = name or path.rstrip("/").rsplit("/", 1)[-1] or "Library"
    candidate, n = base, 1
    while await get_library_by_name(conn, candidate) is not None:
        n += 1
        candidate = f"{base} ({n})"
    library = await create_library(conn, candidate, kind)
    await add_local_source(conn, library.id, path)
    return library
