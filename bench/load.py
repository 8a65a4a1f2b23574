"""One load step: N simulated players against a running server, and the server watched meanwhile.

Players start evenly over ``ramp_s`` seconds, each on a title of its own choosing (round-robin
over a shuffled catalog, so every title has its share), and all stop together ``seconds`` after
the last one started. A sampler reads the server process (and this one, the load generator) every
``sample_s`` from ``/proc``; the server's segment cache counters are read before and after.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import anyio

from bench.player import Plan, Player, Tally
from bench.server import Reading, Server, counters, hit_rate, read_process

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Step:
    players: int
    seconds: float  # all players playing
    ramp_s: float
    transcode_height: int | None = None
    seek_share: float = 0.25
    seed: int = 1
    sample_s: float = 1.0
    watch_sessions: bool = False  # read the server's open sessions at every sample (/metrics)


def run_step(server: Server, step: Step) -> dict[str, Any]:
    return anyio.run(_run, server, step, backend_options={"use_uvloop": True})


async def _run(server: Server, step: Step) -> dict[str, Any]:
    tally = Tally()
    rng = random.Random(step.seed)
    items = list(server.items)
    rng.shuffle(items)
    before = await anyio.to_thread.run_sync(counters, server.url)
    begin = time.perf_counter()
    steady_from = begin + step.ramp_s
    until = steady_from + step.seconds
    readings: list[tuple[Reading, Reading]] = []
    sessions: list[float] = []
    done = anyio.Event()

    async def sample() -> None:
        while not done.is_set():
            readings.append((read_process(server.pid), read_process(os.getpid())))
            if step.watch_sessions:  # a reading the server is too busy to give is None
                seen = await anyio.to_thread.run_sync(counters, server.url, step.sample_s * 5)
                sessions.append(seen.get("reelbox_playback_sessions", math.nan))
            with anyio.move_on_after(step.sample_s):
                await done.wait()

    async def player(start_at: float, plan: Plan) -> None:
        await anyio.sleep(max(0.0, start_at - time.perf_counter()))
        await Player(server.url, server.auth, plan, tally).run()

    async with anyio.create_task_group() as tg:
        tg.start_soon(sample)
        async with anyio.create_task_group() as players:
            for n in range(step.players):
                start_at = begin + step.ramp_s * n / step.players
                seeks = rng.random() < step.seek_share
                low, high = start_at + 5, until - 5
                plan = Plan(
                    item=items[n % len(items)],
                    until=until,
                    transcode_height=step.transcode_height,
                    seek_at=rng.uniform(low, max(low, high)) if seeks else None,
                    rng_seed=rng.randrange(1 << 30),
                )
                players.start_soon(player, start_at, plan)
        readings.append((read_process(server.pid), read_process(os.getpid())))
        done.set()
    after = await anyio.to_thread.run_sync(counters, server.url)
    result = {"n": step.players, **tally.summary()}
    result.update(_resources(readings, steady_from, until, begin))
    if sessions:
        for point, open_sessions in zip(result["timeline"], sessions[1:], strict=False):
            point["sessions"] = None if math.isnan(open_sessions) else int(open_sessions)
    result["steady_from_s"] = round(steady_from - begin, 1)
    result["cache_hit_rate"] = hit_rate(before, after)
    result["segment_cache_mib_end"] = round(after.get("reelbox_segment_cache_bytes", 0) / MIB, 1)
    result["stall_free"] = tally.stalls == 0 and not tally.errors and tally.segments > 0
    return result


def _resources(
    readings: list[tuple[Reading, Reading]], steady_from: float, until: float, begin: float
) -> dict[str, Any]:
    """Server CPU (% of one core) over the steady part, RSS, threads and fds; the same CPU
    figure for the load generator, which shares the machine."""
    steady = [r for r in readings if steady_from <= r[0].at <= until + 1] or readings
    first, last = steady[0], steady[-1]
    wall = max(last[0].at - first[0].at, 1e-9)
    server = [r[0] for r in readings]
    return {
        "server_cpu_pct": round((last[0].cpu_s - first[0].cpu_s) / wall * 100, 1),
        "loadgen_cpu_pct": round((last[1].cpu_s - first[1].cpu_s) / wall * 100, 1),
        "server_rss_mib_max": round(max(r.rss_bytes for r in server) / MIB, 1),
        "server_rss_mib_end": round(server[-1].rss_bytes / MIB, 1),
        "server_threads_max": max(r.threads for r in server),
        "server_fds_max": max(r.fds for r in server),
        "timeline": [
            {
                "t": round(s.at - begin, 1),
                "cpu_pct": round((s.cpu_s - p.cpu_s) / max(s.at - p.at, 1e-9) * 100, 1),
                "rss_mib": round(s.rss_bytes / MIB, 1),
                "threads": s.threads,
                "fds": s.fds,
            }
            for p, s in itertools.pairwise(server)
        ],
    }
