"""Alembic migrations, applied from code: ``reelbox db upgrade`` and the start-up check.

Revisions are numbered (``0001``, ``0002`` ...). ``check_schema`` refuses a database migrated by a
newer Reelbox (a revision this code does not know) and one with pending migrations. On PostgreSQL
the upgrade holds an advisory lock, so several nodes starting at once migrate exactly once.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ingest.catalog.database import Database
from ingest.errors import DatabaseAhead, DatabaseBehind

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same on every node.
_ADVISORY_LOCK_KEY = 0x5EE1B0C5


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def current_revision(db: Database) -> str | None:
    async with db.connect() as conn:
        return await conn.run_sync(_current)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def upgrade(db: Database, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; returns the revision the database ends at."""
    async with db.begin() as conn:
        if db.dialect == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
            )
        before = await conn.run_sync(_current)
        if before is not None and before not in known_revisions():
            raise DatabaseAhead(_ahead_message(before))
        await conn.run_sync(_run_upgrade, revision)
        after = await conn.run_sync(_current)
    if before != after:
        log.info("catalog.migrated", database=db.url, before=before, after=after)
    return after


def _run_upgrade(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


async def check_schema(db: Database) -> str:
    """Raise unless the database is exactly at this code's head revision."""
    current = await current_revision(db)
    head = head_revision()
    if current == head:
        return head
    if current is not None and current not in known_revisions():
        raise DatabaseAhead(_ahead_message(current))
    raise DatabaseBehind(
        f"the catalog at {db.url} is at revision {current or 'none'}, this Reelbox needs {head}: "
        "run `reelbox db upgrade`"
    )


def _ahead_message(revision: str) -> str:
    return (
        f"the catalog is at revision {revision}, which this Reelbox does not know (its newest is "
        f"{head_revision()}): it was migrated by a newer version; upgrade Reelbox, or restore a "
        "backup taken before that upgrade"
    )
