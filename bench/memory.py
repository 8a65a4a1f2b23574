"""``python -m bench memory``: the server's RSS idle, and what each playing session adds.

``reelbox serve`` (``bench.server``) over the ``bench.players`` library: RSS after start-up with
nothing playing (the median of five readings a second apart), then M direct-stream players, then
(on a fresh server) M' transcoding players, each group playing at real-time pace
(``bench.player``, no seeking). Per session: the peak RSS while they play, less the idle RSS,
over the number of players. A playing session's cost is mostly the segments it pulled into the
shared segment cache (bounded by ``REELBOX_STREAM__CACHE_BYTES``, 512 MiB by default), so the
cache's size at the end is reported beside it, and the RSS per session without it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import MIB, Step, run_step
from bench.machine import describe
from bench.players import FULL_RUNG, QUICK_RUNG, library, ramp_s
from bench.server import Catalog, Server, read_process, serving


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=50, help="direct-stream players")
    parser.add_argument("--transcode-sessions", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--encoders", type=int, help="REELBOX_STREAM__ENCODERS (serve's default)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    _, root = library(args.quick)
    seconds = 6.0 if args.quick else args.seconds
    groups = [
        ("direct_stream", 3 if args.quick else args.sessions, None),
        (
            "transcode",
            1 if args.quick else args.transcode_sessions,
            QUICK_RUNG if args.quick else FULL_RUNG,
        ),
    ]
    result: dict[str, Any] = {"scenario": "memory"}
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-memory-") as tmp:
        catalog = Catalog.prepare(root, Path(tmp))
        for name, sessions, height in groups:
            with serving(catalog, encoders=args.encoders) as server:
                time.sleep(2)  # the scheduler's start-up rescan
                idle = _idle_rss(server)
                step = Step(sessions, seconds, ramp_s(sessions, args.quick), height, 0.0)
                outcome = run_step(server, step)
            peak = outcome["server_rss_mib_max"]
            cache = outcome["segment_cache_mib_end"]
            result.setdefault("idle_rss_mib", idle)
            result[name] = {
                "sessions": sessions,
                "idle_rss_mib": idle,
                "peak_rss_mib": peak,
                "rss_mib_per_session": round((peak - idle) / sessions, 2),
                "segment_cache_mib": cache,
                "rss_mib_per_session_without_cache": round((peak - idle - cache) / sessions, 2),
                "segments": outcome["segments"],
                "errors": outcome["errors"],
                "stalls": outcome["stalls"],
                "methods": outcome["methods"],
            }
    result["settings"] = {"seconds": seconds, "encoders": args.encoders}
    result["machine"] = describe()
    return result


def _idle_rss(server: Server) -> float:
    readings = []
    for _ in range(5):
        readings.append(read_process(server.pid).rss_bytes / MIB)
        time.sleep(1)
    return round(statistics.median(readings), 1)
