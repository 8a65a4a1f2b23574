"""``python -m bench api``: the browse API under load, on SQLite and on PostgreSQL.

For each database, a catalog of ``--items`` films (10,000 by default) is written through the
catalog's own batched writes, as a scan writes them (titles, years, 1-3 of 20 genres, ratings,
streams), with a user who sees the library. ``reelbox serve`` then runs over it in a process of
its own (``bench.server``: auth on, the metadata cache in-process, as one machine runs it), so its
memory is its own and the load generator's CPU is not counted as the server's.

The load is open loop, as real clients are: requests are sent on a fixed schedule (each rate of
``--rates`` in turn, for ``--seconds``) whether or not earlier ones have come back, over at most
64 connections, alternating

- ``page``: ``GET /api/items`` with a genre, a sort (title, added, year or rating, either way)
  and one of its first 6 pages of 50; 960 distinct pages, so the metadata cache helps as it would
  with a household browsing, not on every request;
- ``detail``: ``GET /api/items/<id>`` of a random film (streams, images, user data).

Latency is measured from when a request was due, not from when it left, so a server (or a client)
that falls behind is charged for the wait (no coordinated omission). Each run reports, per
endpoint, ``rps`` (answers per second), ``p50_ms``, ``p99_ms``, ``max_ms`` and errors, with the
server's CPU share, RSS and metadata cache hit rate; the ramp stops at the first rate that
saturates the server (an error, or a p99 past a second). ``idle_rss_mb`` is the server's resident
memory once started and logged in, before any load; ``best_rate_meeting_p99`` the highest rate
whose p99 stayed within the target. Targets (issue 4): p99 <= 15 ms at 500 requests/s, idle RSS
<= 150 MB. There is no baseline process here: the figures are Reelbox's own, against those
targets.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import machine
from bench.server import Catalog, Server, counters, read_process, serving
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog import migrate
from ingest.catalog.database import open_database
from ingest.models import Entry, ItemType, ItemWrite, LibraryKind, ProbeResult, StreamInfo, Titles

log = structlog.get_logger(__name__)

POSTGRES_ADMIN = "postgresql+asyncpg://root@127.0.0.1:5432/postgres"
GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller",
    "War", "Western", "Sport", "Biography",
)  # fmt: skip
RATINGS = ("G", "PG", "PG-13", "R", "NR")
WORDS = (
    "night", "river", "last", "city", "silent", "iron", "summer", "ghost", "little", "road",
    "winter", "golden", "lost", "star", "dark", "king", "house", "blue", "wild", "secret",
    "échappée", "über", "año", "Bjørn", "coração",
)  # fmt: skip
SORTS = ("title", "added", "year", "rating")
TARGET_P99_MS, TARGET_RPS, TARGET_RSS_MB = 15, 500, 150  # issue 4
SATURATED_MS = 1000.0  # a run whose p99 passes this saturated the server: the ramp stops
PAGE = 50
BATCH = 500
HOUR_US = 3_600_000_000
PROBE = ProbeResult(
    container="matroska,webm",
    duration_us=2 * HOUR_US,
    bit_rate=8_000_000,
    streams=(
        StreamInfo(0, "video", "h264", width=1920, height=1080, time_base=Fraction(1, 1000)),
        StreamInfo(1, "audio", "aac", channels=6, sample_rate=48000, language="eng"),
        StreamInfo(2, "audio", "ac3", channels=6, sample_rate=48000, language="fra"),
        StreamInfo(3, "subtitle", "subrip", language="eng"),
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--items", type=int, default=10_000, help="films in the library")
    parser.add_argument(
        "--rates",
        default="50,100,200,500",
        help="requests per second, a run each, in order, until one saturates the server",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres-admin",
        default=os.environ.get("REELBOX_TEST_DATABASE_URL", POSTGRES_ADMIN),
        help="a PostgreSQL URL allowed to create and drop a database for the run",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    items, seconds = args.items, args.seconds
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.quick:
        items, rates, seconds = min(items, 400), [100.0], min(seconds, 2.0)
    results: dict[str, Any] = {}
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if database not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
        with (
            tempfile.TemporaryDirectory(prefix=f"reelbox-bench-api-{database}-") as folder,
            _database(database, Path(folder), args.postgres_admin) as url,
        ):
            catalog = _prepare(Path(folder), url, items)
            results[database] = _measure(catalog, rates, seconds)
    return {
        "scenario": "api",
        "machine": machine.describe(),
        "items": items,
        "seconds": seconds,
        "results": results,
        "targets": {"p99_ms": TARGET_P99_MS, "at_rps": TARGET_RPS, "idle_rss_mb": TARGET_RSS_MB},
        "targets_met": bool(results)
        and all(
            r["idle_rss_mb"] <= TARGET_RSS_MB and (r["best_rate_meeting_p99"] or 0) >= TARGET_RPS
            for r in results.values()
        ),
    }


# --- the catalog --------------------------------------------------------------------------------


@contextmanager
def _database(kind: str, folder: Path, admin: str) -> Iterator[str]:
    """The URL of an empty catalog database, dropped afterwards (PostgreSQL)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'reelbox.db'}"
        return
    name = f"reelbox_bench_api_{uuid.uuid4().hex[:8]}"
    anyio.run(_admin, admin, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        anyio.run(_admin, admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(sql))
    finally:
        await engine.dispose()


def films(count: int, seed: int = 7) -> Iterator[Titles]:
    """``count`` films with names, years, genres and ratings spread as in a real collection."""
    rng = random.Random(seed)
    for n in range(count):
        words = rng.sample(WORDS, rng.randint(1, 3))
        yield Titles(
            type=ItemType.MOVIE,
            title=f"{' '.join(words).title()} {n}",
            year=rng.randint(1950, 2025),
            official_rating=rng.choice(RATINGS),
            community_rating=round(rng.uniform(3.0, 9.5), 1),
            genres=tuple(rng.sample(GENRES, rng.randint(1, 3))),
            overview=" ".join(rng.choices(WORDS, k=30)),
        )


def _prepare(folder: Path, url: str, count: int) -> Catalog:
    data_dir = folder / "data"
    data_dir.mkdir()
    (data_dir / "reelbox.toml").write_text(f"database_url = {url!r}\n", encoding="utf-8")
    started = time.perf_counter()
    anyio.run(_write_catalog, url, count)
    log.info("bench.api.catalog", url=url, items=count, s=round(time.perf_counter() - started, 1))
    return Catalog.with_user(data_dir, role="member")


async def _write_catalog(url: str, count: int) -> None:
    db = open_database(url)
    try:
        await migrate.upgrade(db)
        async with db.begin() as conn:
            library = await library_queries.create_library(conn, "Films", LibraryKind.MOVIES)
            source = await library_queries.add_local_source(conn, library.id, "/media/films")
        batch: list[ItemWrite] = []
        for n, titles in enumerate(films(count)):
            entry = Entry(key=f"{titles.title} ({titles.year}).mkv", size=4_000_000_000 + n)
            batch.append(ItemWrite(entry, "ok", None, titles, f"v{n}", PROBE))
            if len(batch) == BATCH or n == count - 1:
                async with db.begin() as conn:
                    await item_queries.write_items(conn, library.id, source.id, batch, {})
                batch = []
    finally:
        await db.dispose()


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Timings:
    latencies_s: list[float]
    errors: int = 0


def _measure(catalog: Catalog, rates: list[float], seconds: float) -> dict[str, Any]:
    """One server; a run at each rate in turn, until one saturates it (errors, or a p99 past a
    second: the rates above would only pile up more)."""
    runs: list[dict[str, Any]] = []
    with serving(catalog) as server:
        time.sleep(1.0)  # start-up work (the first scheduled scan's check) settles
        idle = read_process(server.pid)
        for rate in rates:
            before, start = counters(server.url), read_process(server.pid)
            timings, elapsed = anyio.run(_load, server, rate, seconds)
            after, end = counters(server.url), read_process(server.pid)
            run: dict[str, Any] = {"rate": rate}
            run.update({name: _summary(found, elapsed) for name, found in sorted(timings.items())})
            run.update(
                server_cpu_share=round((end.cpu_s - start.cpu_s) / max(end.at - start.at, 1e-9), 3),
                rss_mb=round(end.rss_bytes / 2**20, 1),
                cache_hit_rate=_hit_rate(before, after),
            )
            runs.append(run)
            if any(
                run[e]["errors"] or run[e].get("p99_ms", 0) > SATURATED_MS
                for e in ("page", "detail")
            ):
                break
    meeting = [
        r["rate"]
        for r in runs
        if all(r[e]["errors"] == 0 and r[e]["p99_ms"] <= TARGET_P99_MS for e in ("page", "detail"))
    ]
    return {
        "idle_rss_mb": round(idle.rss_bytes / 2**20, 1),
        "runs": runs,
        "best_rate_meeting_p99": max(meeting) if meeting else None,
    }


def _hit_rate(before: dict[str, float], after: dict[str, float]) -> float | None:
    """The metadata cache's hits over lookups between two readings of /metrics."""
    hits, misses = (
        after.get(f"reelbox_state_cache_{kind}_total", 0.0)
        - before.get(f"reelbox_state_cache_{kind}_total", 0.0)
        for kind in ("hits", "misses")
    )
    return round(hits / (hits + misses), 4) if hits + misses else None


async def _load(server: Server, rate: float, seconds: float) -> tuple[dict[str, Timings], float]:
    rng = random.Random(11)
    genres = await _genres(server)
    timings = {"page": Timings([]), "detail": Timings([])}
    total = max(1, int(rate * seconds))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # Requests past the 64 connections wait for one (no pool timeout): their wait is counted.
    timeout = httpx.Timeout(30.0, pool=None)
    async with (
        httpx.AsyncClient(
            base_url=server.url, headers=server.auth, limits=limits, timeout=timeout
        ) as client,
        anyio.create_task_group() as tg,
    ):
        start = anyio.current_time()
        for n in range(total):
            due = start + n / rate
            await anyio.sleep_until(due)
            if n % 2 == 0:
                genre, size = rng.choice(genres)
                pages = max(1, math.ceil(size / PAGE))
                params: dict[str, str | int] = {
                    "genre": genre,
                    "sort": rng.choice(SORTS),
                    "order": rng.choice(("asc", "desc")),
                    "limit": PAGE,
                    "offset": rng.randrange(min(pages, 6)) * PAGE,
                }
                tg.start_soon(_timed, client, "/api/items", params, due, timings["page"])
            else:
                item = rng.choice(server.items)
                tg.start_soon(_timed, client, f"/api/items/{item}", {}, due, timings["detail"])
    return timings, anyio.current_time() - start


async def _timed(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, str | int],
    due: float,
    timings: Timings,
) -> None:
    try:
        answer = await client.get(path, params=params)
        ok = answer.status_code == 200
    except httpx.HTTPError as exc:
        log.warning("bench.api.request_failed", path=path, error=repr(exc))
        ok = False
    timings.latencies_s.append(anyio.current_time() - due)
    if not ok:
        timings.errors += 1


async def _genres(server: Server) -> list[tuple[int, int]]:
    """Each genre's id and how many films it holds (``GET /api/genres``)."""
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth) as client:
        answer = await client.get("/api/genres")
        answer.raise_for_status()
    return [(genre["id"], genre["count"]) for genre in answer.json()["genres"]]


def _summary(timings: Timings, elapsed: float) -> dict[str, Any]:
    found = sorted(timings.latencies_s)
    if not found:
        return {"requests": 0, "errors": timings.errors}
    return {
        "requests": len(found),
        "errors": timings.errors,
        "rps": round(len(found) / elapsed, 1),
        "p50_ms": round(statistics.median(found) * 1000, 2),
        "p99_ms": round(found[min(len(found) - 1, math.ceil(0.99 * len(found)) - 1)] * 1000, 2),
        "max_ms": round(found[-1] * 1000, 2),
    }
