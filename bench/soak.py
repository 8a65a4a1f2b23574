"""``python -m bench soak``: 200 direct-stream players for 10 minutes (``--quick``: 1 minute).

The players, library and server are those of ``bench.players`` (one server for the whole run).
Every second the server process is read from ``/proc`` (CPU, RSS, threads, open descriptors)
and its open playback sessions from ``/metrics``. The checks: no error, no stall, RSS at the end
of the run within 10% of RSS after the first minute (half the run when it is shorter), no growth
of open descriptors or threads between the same two points (10% and 8 descriptors of slack:
player connections come and go), and, once the players have left, no session left open.
(Descriptors do not go back to the idle count: the remux path keeps a pool of open demuxers,
one or more per title played.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import MIB, Step, run_step
from bench.machine import describe
from bench.players import library, ramp_s
from bench.server import Catalog, counters, read_process, serving

FIRST_MINUTE_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--players", type=int, help="default 200 (--quick: 20)")
    parser.add_argument("--seconds", type=float, help="default 600 (--quick: 60)")
    parser.add_argument("--seek-share", type=float, default=0.25)
    parser.add_argument("--encoders", type=int, help="REELBOX_STREAM__ENCODERS (serve's default)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    players = args.players or (20 if args.quick else 200)
    seconds = args.seconds or (60.0 if args.quick else 600.0)
    _, root = library(args.quick)
    ramp = ramp_s(players, args.quick)
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-soak-") as tmp:
        catalog = Catalog.prepare(root, Path(tmp))
        with serving(catalog, encoders=args.encoders) as server:
            time.sleep(2)  # the scheduler's start-up rescan
            idle = read_process(server.pid)
            step = Step(players, seconds, ramp, seek_share=args.seek_share, watch_sessions=True)
            outcome = run_step(server, step)
            time.sleep(3)  # the players' sessions end with their DELETE
            after = read_process(server.pid)
            left_open = counters(server.url).get("reelbox_playback_sessions", 0.0)
    timeline = outcome.pop("timeline")
    steady_from = outcome["steady_from_s"]
    checkpoint = steady_from + min(FIRST_MINUTE_S, seconds / 2)
    ended = steady_from + seconds
    early = next((p for p in timeline if p["t"] >= checkpoint), timeline[-1])
    late = ([p for p in timeline if p["t"] <= ended and "sessions" in p] or timeline)[-1]
    rss_growth = (late["rss_mib"] - early["rss_mib"]) / early["rss_mib"] * 100
    checks = {
        "no_errors": outcome["errors"] == 0,
        "no_stalls": outcome["stalls"] == 0,
        "rss_within_10pct": abs(rss_growth) <= 10,
        "fds_no_growth": late["fds"] <= early["fds"] * 1.1 + 8,
        "threads_no_growth": late["threads"] <= early["threads"] * 1.1 + 2,
        "no_session_left": left_open == 0,
    }
    return {
        "scenario": "soak",
        **outcome,
        "seconds": seconds,
        "checkpoint_s": round(checkpoint, 1),
        "end_s": round(ended, 1),
        "rss_mib_idle": round(idle.rss_bytes / MIB, 1),
        "rss_mib_after_first_minute": early["rss_mib"],
        "rss_mib_end": late["rss_mib"],
        "rss_growth_pct": round(rss_growth, 1),
        "fds": {
            "idle": idle.fds,
            "first_minute": early["fds"],
            "end": late["fds"],
            "after": after.fds,
        },
        "threads": {
            "idle": idle.threads,
            "first_minute": early["threads"],
            "end": late["threads"],
            "after": after.threads,
        },
        "sessions": {
            "first_minute": early.get("sessions"),
            "end": late.get("sessions"),
            "after": int(left_open),
        },
        "checks": checks,
        "passed": all(checks.values()),
        "timeline": timeline,
        "machine": describe(),
    }
