"""The catalog database: one async SQLAlchemy engine, SQLite (aiosqlite) or PostgreSQL (asyncpg).

SQLite is tuned for one writer and many readers: WAL, a busy timeout instead of "database is
locked" errors, foreign keys on. PostgreSQL needs nothing special. Queries live in the sibling
modules and take an ``AsyncConnection``; this module only owns connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = structlog.get_logger(__name__)

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
    "PRAGMA temp_store=MEMORY",
)


class Database:
    """Owns the engine. ``connect()`` for reads, ``begin()`` for a transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.dialect == "sqlite":
            await _reap_stuck_sqlite_closes()


async def _reap_stuck_sqlite_closes(grace_s: float = 5.0) -> None:
    """Cancel SQLAlchemy's graceful-close tasks of aiosqlite connections that can never finish.

    A task cancelled while it holds a connection has the connection terminated: SQLAlchemy
    starts ``close()`` in a shielded task, and when the cancellation is delivered again (anyio
    re-delivers it) it force-stops aiosqlite's thread instead. The shielded task then waits for
    that thread forever (aiosqlite 0.22, SQLAlchemy 2.1), and the event loop cannot finish: a
    server would not exit after SIGTERM during a scan. A close whose thread still runs (a busy
    machine) gets ``grace_s`` to finish, since its thread reports back to the loop; the rest
    wait for a thread that is gone, so they are cancelled.
    """
    closing = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").endswith("._terminate_graceful_close")
        and not task.done()
    ]
    if not closing:
        return
    _done, stuck = await asyncio.wait(closing, timeout=grace_s)
    for task in stuck:
        task.cancel()


def open_database(url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
    """Create the engine for ``url`` (no I/O yet). SQLite files get their folder created."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 15}
    else:
        # pool_pre_ping survives a PostgreSQL restart: a dead pooled connection is replaced
        # before use instead of failing the request that drew it.
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return Database(engine)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # aiosqlite's adapter starts transactions itself; pragmas must run outside one.
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
