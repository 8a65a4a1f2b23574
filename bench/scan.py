"""``python -m bench scan --files N``: a first full scan, an unchanged rescan, against ffprobe.

The library is N short synthetic clips (cached between runs), named as people name films. Reelbox
scans it into a fresh catalog; the baseline runs one ``ffprobe -analyzeduration 200M -probesize 1G``
process per file, as Jellyfin does, with as many processes at once as the machine has cores
(Jellyfin's default metadata-refresh concurrency). Rounds alternate Reelbox and ffprobe; the JSON
reports the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio

from bench.machine import describe
from ingest.catalog import libraries as library_queries
from ingest.catalog import migrate
from ingest.catalog.database import open_database
from ingest.demo import synthesize_clip
from ingest.models import LibraryKind
from ingest.opener import SourceOpener
from ingest.scanner import Scanner

CACHE = Path(os.environ.get("REELBOX_BENCH_CACHE", Path.home() / ".cache" / "reelbox-bench"))
FFPROBE = [
    "ffprobe",
    "-v",
    "quiet",
    "-analyzeduration",
    "200M",
    "-probesize",
    "1G",
    "-print_format",
    "json",
    "-show_streams",
    "-show_format",
    "-show_chapters",
]
_WORDS = (
    "Silent",
    "Harbour",
    "Night",
    "Glass",
    "River",
    "Echo",
    "Winter",
    "Paper",
    "Iron",
    "Velvet",
    "Distant",
    "Signal",
    "Orchard",
    "Copper",
    "Lantern",
    "Northern",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=max(2, (os.cpu_count() or 1) * 2))
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="worker processes joining the scan (REELBOX_SCAN__PROCESSES)",
    )
    parser.add_argument(
        "--ffprobe-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="ffprobe processes at once (Jellyfin's default: one per core)",
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file per round")


def library(files: int) -> Path:
    """N clips of 2 s, 320x240, 1 s GOP, AAC; generated once and reused.

    Four in five are named the way Jellyfin, Plex and Radarr lay films out ("Title (Year)/Title
    (Year).mp4"); one in five carries a scene release name ("Title.Year.1080p.WEB-DL.x264-GRP"),
    which goes through guessit: real libraries hold both.
    """
    root = CACHE / f"scan-v2-{files}"
    done = root / ".complete"
    if done.exists():
        return root
    for n in range(files):
        title = f"{_WORDS[n % len(_WORDS)]} {_WORDS[(n // len(_WORDS)) % len(_WORDS)]} {n:04d}"
        year = 1950 + n % 75
        name = f"{title} ({year})"
        if n % 5 == 4:
            name = f"{title.replace(' ', '.')}.{year}.1080p.WEB-DL.x264-GRP"
        path = root / f"{title} ({year})" / f"{name}.mp4"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            synthesize_clip(path, seconds=2.0, width=320, height=240, fps=25, gop=25)
    done.touch()
    return root


async def _reelbox_round(
    root: Path, concurrency: int, processes: int, url: str | None
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-") as tmp:
        db = open_database(url or f"sqlite+aiosqlite:///{tmp}/catalog.db")
        lib = None
        try:
            await migrate.upgrade(db)
            async with db.begin() as conn:
                lib = await library_queries.create_library(conn, "Bench", LibraryKind.MOVIES)
                await library_queries.add_local_source(conn, lib.id, str(root))
            scanner = Scanner(
                db, SourceOpener({}), concurrency=concurrency, batch_size=64, processes=processes
            )
            started = time.perf_counter()
            first = await scanner.scan(lib.id)
            full = time.perf_counter() - started
            started = time.perf_counter()
            again = await scanner.scan(lib.id)
            rescan = time.perf_counter() - started
            if first.failed or first.probed == 0 or again.probed:
                raise RuntimeError(f"unexpected scan result: {first.as_dict()} {again.as_dict()}")
        finally:
            if url and lib is not None:  # a shared server: leave it as we found it
                async with db.begin() as conn:
                    await library_queries.delete_library(conn, lib.id)
            await db.dispose()
    return full, rescan


def _ffprobe_round(files: list[Path], workers: int) -> float:
    def probe(path: Path) -> None:
        subprocess.run([*FFPROBE, str(path)], check=True, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(probe, files))
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("ffprobe") is None:
        raise SystemExit("bench scan needs ffprobe for the baseline: apt-get install ffmpeg")
    count = 20 if args.quick else args.files
    rounds = 1 if args.quick else args.rounds
    root = library(count)
    files = sorted(root.rglob("*.mp4"))
    workers = args.ffprobe_processes
    reelbox_s: list[float] = []
    rescan_s: list[float] = []
    ffprobe_s: list[float] = []
    for _ in range(rounds):
        full, rescan = anyio.run(
            _reelbox_round,
            root,
            args.concurrency,
            args.processes,
            args.database_url,
            backend_options={"use_uvloop": True},  # as `reelbox scan` and `serve` run
        )
        reelbox_s.append(full)
        rescan_s.append(rescan)
        ffprobe_s.append(_ffprobe_round(files, workers))
    reelbox = len(files) / statistics.median(reelbox_s)
    ffprobe = len(files) / statistics.median(ffprobe_s)
    return {
        "scenario": "scan",
        "files": len(files),
        "reelbox_files_per_s": round(reelbox, 1),
        "ffprobe_files_per_s": round(ffprobe, 1),
        "ratio": round(reelbox / ffprobe, 2),
        "rescan_s": round(statistics.median(rescan_s), 3),
        "rounds": rounds,
        "reelbox_scan_s": [round(x, 3) for x in reelbox_s],
        "ffprobe_s": [round(x, 3) for x in ffprobe_s],
        "rescan_runs_s": [round(x, 3) for x in rescan_s],
        "reelbox_concurrency": args.concurrency,
        "reelbox_processes": args.processes,
        "ffprobe_processes_at_once": workers,
        "database": "sqlite" if not args.database_url else args.database_url.split(":", 1)[0],
        "machine": describe(),
    }
