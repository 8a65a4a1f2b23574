"""Builds the running parts of Reelbox from settings: the adapters are chosen here, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog

from ingest.artwork import Artwork
from ingest.catalog import libraries as library_queries
from ingest.catalog import migrate
from ingest.catalog.database import Database, open_database
from ingest.catalog.records import Library
from ingest.demo import generate_demo_library
from ingest.imagestore import ImageStore, LocalImageStore, S3ImageStore
from ingest.models import LibraryKind
from ingest.opener import SourceOpener, SourcePool
from ingest.scanner import Scanner
from ingest.sources import S3Config, open_s3_client
from web.settings import S3Settings, Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    database: Database
    opener: SourceOpener
    sources: SourcePool  # long-lived, for playback
    scanner: Scanner
    images: ImageStore
    artwork: Artwork


def s3_config(s3: S3Settings) -> S3Config:
    return S3Config(
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key.get_secret_value() if s3.secret_access_key else None,
        read_block_size=s3.read_block_size,
    )


@asynccontextmanager
async def open_runtime(settings: Settings, *, migrate_schema: bool) -> AsyncIterator[Runtime]:
    """Open the catalog (migrating it if asked), the image store, and the scanner."""
    async with AsyncExitStack() as stack:
        database = open_database(settings.resolved_database_url)
        stack.push_async_callback(database.dispose)
        if migrate_schema:
            await migrate.upgrade(database)
        await migrate.check_schema(database)
        configs: dict[str | None, S3Config] = {None: s3_config(settings.s3)}
        configs.update({name: s3_config(s3) for name, s3 in settings.s3_credentials.items()})
        opener = SourceOpener(configs)
        sources = await stack.enter_async_context(SourcePool(configs))
        images: ImageStore
        if settings.images_s3_bucket:
            client = await stack.enter_async_context(open_s3_client(configs[None]))
            images = S3ImageStore(client, settings.images_s3_bucket)
        else:
            images = LocalImageStore(settings.resolved_images_dir)
        scanner = Scanner(
            database,
            opener,
            concurrency=settings.scan.concurrency,
            batch_size=settings.scan.batch_size,
            processes=settings.scan.processes,
        )
        artwork = Artwork(database, opener, images)
        yield Runtime(settings, database, opener, sources, scanner, images, artwork)


async def ensure_libraries(
    runtime: Runtime, paths: list[Path], kind: LibraryKind = LibraryKind.MIXED
) -> list[Library]:
    found: list[Library] = []
    for path in paths:
        resolved = await anyio.Path(path).resolve()
        async with runtime.database.begin() as conn:
            found.append(await library_queries.ensure_local_library(conn, str(resolved), kind))
    return found


async def ensure_demo_library(runtime: Runtime) -> list[Library]:
    """Generate (once) and register the demo library, so a new user can press play."""
    root = runtime.settings.data_dir / "demo"
    log.info("demo.generating", folder=str(root))
    folders = await anyio.to_thread.run_sync(generate_demo_library, root)
    found: list[Library] = []
    for kind, folder in folders.items():
        async with runtime.database.begin() as conn:
            found.append(
                await library_queries.ensure_local_library(
                    conn, str(folder), kind, name=f"Demo {kind.value.capitalize()}"
                )
            )
    return found
