"""``python -m bench players``: how many simulated players one Reelbox serves without a stall.

The library is ``bench.titles``: 50 distinct 1080p25 titles (~8 Mbit/s H.264 with a keyframe
every 2 s, AAC), each its own media version, so no two share a cached segment. The server is
``reelbox serve`` in a process of its own (``bench.server``), restarted for every step (a cold
segment cache, RSS from a fresh start), over a catalog scanned once. The players are
``bench.player``'s: a session each, video and audio segments at real-time pace from a random
position with three segments of prefetch, a quarter of them seeking once at random.

- **Direct stream** (remux of the original): N ramps up (``--players``); each step reports
  p50/p99 segment latency, start and seek latency, stalls, errors, the server's CPU and RSS, the
  load generator's CPU (it shares the two cores) and the segment cache hit rate. The ramp stops
  after a step where more than ``--stop-stalled`` of the players stalled: past saturation every
  further step only takes longer to say the same.
- **Transcode** to the 720p rung (``max_height=720``), N ramps up by one (``--transcodes``).
  Against each step, interleaved and alternating which goes first, the same machine runs N
  ffmpeg CLI processes at once the way Jellyfin does for N transcoding players (its HLS command
  line from ``bench.stream.Jellyfin``: libx264 veryfast to the same size and bit rate, 3 s
  segments), each on a different title for ``--transcode-seconds``; ffmpeg's ``-progress``
  says how many seconds of media each produced. A step of N is sustained by Reelbox when its N
  players saw no stall and no error, and by ffmpeg when every process ran at >= 1x real time.

``largest_stall_free`` is the largest N of each ramp whose step (and every smaller one) was
sustained.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import structlog

from bench import hls, titles
from bench.load import Step, run_step
from bench.machine import describe
from bench.server import Catalog, Server, serving
from bench.stream import Jellyfin, _Job
from engine.segmenter.renditions import VideoEncoding

log = structlog.get_logger(__name__)

QUICK_RUNG, FULL_RUNG = 360, 720


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--players", default="50,100,200,500,1000", help="the direct-stream ramp")
    parser.add_argument("--transcodes", default="1,2,3,4", help="the transcode ramp")
    parser.add_argument("--seconds", type=float, default=60.0, help="each step, all playing")
    parser.add_argument("--transcode-seconds", type=float, default=45.0)
    parser.add_argument("--seek-share", type=float, default=0.25)
    parser.add_argument("--stop-stalled", type=float, default=0.1, help="share of players")
    parser.add_argument("--encoders", type=int, help="REELBOX_STREAM__ENCODERS (serve's default)")
    parser.add_argument("--no-transcode", action="store_true", help="the direct-stream ramp only")


def library(quick: bool) -> tuple[titles.LibrarySpec, Path]:
    spec = titles.QUICK if quick else titles.FULL
    return spec, titles.library(spec)


def ramp_s(players: int, quick: bool) -> float:
    """Players start over this many seconds: session creation is part of the load, a stampede
    of them at one instant is not what a household does."""
    return 1.0 if quick else max(10.0, players / 50)


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec, root = library(args.quick)
    ramp = [2] if args.quick else _ints(args.players)
    transcodes = [1] if args.quick else _ints(args.transcodes)
    seconds = 6.0 if args.quick else args.seconds
    transcode_s = 6.0 if args.quick else args.transcode_seconds
    rung = QUICK_RUNG if args.quick else FULL_RUNG
    result: dict[str, Any] = {"scenario": "players"}
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-players-") as tmp:
        catalog = Catalog.prepare(root, Path(tmp))
        remux: list[dict[str, Any]] = []
        for n in ramp:
            step = Step(n, seconds, ramp_s(n, args.quick), seek_share=args.seek_share, seed=n)
            remux.append(_step(catalog, step, args.encoders))
            if _saturated(remux[-1], args.stop_stalled):
                break
        result["remux"] = {"steps": remux, "largest_stall_free": _largest(remux)}
        if not args.no_transcode:
            result["transcode"] = _transcode_ramp(
                catalog,
                root,
                transcodes,
                seconds=transcode_s,
                rung=rung,
                args=args,
                quick=args.quick,
            )
    result["targets"] = {
        "remux_players_without_stall": {
            "at_least": 500,
            "p99_ms_at_most": 250,
            "met": any(
                s["n"] >= 500 and s["stall_free"] and (s["segment_p99_ms"] or 1e9) <= 250
                for s in remux
            ),
        }
    }
    result["library"] = _library_facts(spec)
    result["settings"] = {
        "seconds_per_step": seconds,
        "transcode_seconds_per_step": transcode_s,
        "seek_share": args.seek_share,
        "prefetch_segments": 3,
        "encoders": args.encoders,
        "transcode_to": f"{rung}p",
        "server": "python -m web serve (a separate process), restarted for every step",
    }
    result["machine"] = describe()
    return result


def _step(
    catalog: Catalog,
    step: Step,
    encoders: int | None,
    rung_of: list[VideoEncoding] | None = None,
    height: int = FULL_RUNG,
) -> dict[str, Any]:
    """One step on a fresh server; ``rung_of``, when empty, gets the transcode rung first."""
    with serving(catalog, encoders=encoders) as server:
        if rung_of is not None and not rung_of:
            rung_of.append(_rung(server, height))
        time.sleep(2)  # the scheduler's start-up rescan of the (unchanged) library
        log.warning("bench.players.step", players=step.players, transcode=step.transcode_height)
        outcome = run_step(server, step)
    log.warning(
        "bench.players.result",
        players=step.players,
        p99_ms=outcome["segment_p99_ms"],
        stalls=outcome["stalls"],
        errors=outcome["errors"],
        cpu=outcome["server_cpu_pct"],
    )
    outcome.pop("timeline")
    return outcome


def _transcode_ramp(
    catalog: Catalog,
    root: Path,
    ramp: list[int],
    *,
    seconds: float,
    rung: int,
    args: argparse.Namespace,
    quick: bool,
) -> dict[str, Any]:
    encoding: list[VideoEncoding] = []  # read from the first step's server
    files = sorted(root.glob("*.mp4"))
    reelbox: list[dict[str, Any]] = []
    ffmpeg: list[dict[str, Any]] = []
    for k, n in enumerate(ramp):
        step = Step(n, seconds, ramp_s(n, quick), rung, args.seek_share, seed=1000 + n)
        for side in ("reelbox", "ffmpeg") if k % 2 == 0 else ("ffmpeg", "reelbox"):
            if side == "reelbox":
                reelbox.append(_step(catalog, step, args.encoders, encoding, rung))
            else:
                if not encoding:
                    with serving(catalog, encoders=args.encoders) as server:
                        encoding.append(_rung(server, rung))
                ffmpeg.append(_ffmpeg_step(files, n, seconds, encoding[0]))
        if _saturated(reelbox[-1], args.stop_stalled) and not ffmpeg[-1]["sustained"]:
            break
    return {
        "steps": reelbox,
        "ffmpeg_cli_steps": ffmpeg,
        "largest_stall_free": _largest(reelbox),
        "ffmpeg_cli_sustained": max((s["n"] for s in ffmpeg if s["sustained"]), default=0),
        "rung": {
            "width": encoding[0].width,
            "height": encoding[0].height,
            "bit_rate": encoding[0].bit_rate,
        },
    }


def _rung(server: Server, height: int) -> VideoEncoding:
    """The transcode rung as the master playlist declares it (size, BANDWIDTH): what the
    ffmpeg side is asked to make."""
    with httpx.Client(base_url=server.url, headers=server.auth, timeout=120) as client:
        body = {"item_id": server.items[0], "profile": "chromium", "max_height": height}
        started = client.post("/api/playback", json=body)
        started.raise_for_status()
        master = client.get(started.json()["master_url"]).text
        client.delete(f"/api/playback/{started.json()['session_id']}").raise_for_status()
    for line in master.splitlines():
        if f"x{height}," in line or line.endswith(f"x{height}"):
            width = int(line.split("RESOLUTION=")[1].split("x")[0])
            break
    else:
        raise RuntimeError(f"no {height}p rendition in\n{master}")
    rate = hls.bandwidth(master, height)
    return VideoEncoding(
        width=width,
        height=height,
        bit_rate=rate,
        max_rate=rate,
        buffer_size=rate * 2,
        level=40,
        frame_rate=Fraction(25),
    )


def _ffmpeg_step(
    files: list[Path], n: int, seconds: float, encoding: VideoEncoding
) -> dict[str, Any]:
    """N ffmpeg processes at once, as Jellyfin starts one per transcoding player, for
    ``seconds``: how many seconds of media each produced in that time."""
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-ffmpeg-") as tmp:
        processes: list[tuple[subprocess.Popen[bytes], Path]] = []
        for k in range(n):
            source = files[k % len(files)]
            folder = Path(tmp) / f"p{k}"
            folder.mkdir()
            progress = Path(tmp) / f"p{k}.progress"
            jellyfin = Jellyfin(source, 0.0, Path(tmp), encoding)
            command = jellyfin.command(_Job(folder, copy=False, segment_s=3), 0)
            command[1:1] = ["-progress", str(progress)]
            processes.append((subprocess.Popen(command, stdin=subprocess.DEVNULL), progress))
        begun = time.perf_counter()
        time.sleep(seconds)
        wall = time.perf_counter() - begun
        speeds = [_produced_s(progress) / wall for _, progress in processes]
        for process, _ in processes:
            process.kill()
            process.wait()
    outcome = {
        "n": n,
        "speeds": [round(s, 2) for s in speeds],
        "min_speed": round(min(speeds), 2),
        "sustained": min(speeds) >= 1.0,
    }
    log.warning("bench.players.ffmpeg", **outcome)
    return outcome


def _produced_s(progress: Path) -> float:
    """The last ``out_time_us`` ffmpeg's ``-progress`` wrote: media seconds produced."""
    latest = 0
    if progress.exists():
        for line in progress.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("out_time_us=") and line[12:].strip().lstrip("-").isdigit():
                latest = max(latest, int(line[12:]))
    return latest / 1e6


def _saturated(step: dict[str, Any], share: float) -> bool:
    return bool(step["stalled_players"] > share * step["n"] or step["errors"] > share * step["n"])


def _largest(steps: list[dict[str, Any]]) -> int:
    largest = 0
    for step in steps:
        if not step["stall_free"]:
            break
        largest = step["n"]
    return largest


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _library_facts(spec: titles.LibrarySpec) -> dict[str, Any]:
    return {
        "titles": spec.titles,
        "title_seconds": spec.title_seconds,
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "gop_s": spec.gop_seconds,
        "bit_rate": spec.bit_rate,
        "made_from": f"{spec.sources} encoded sources, stream-copied in different orders "
        "and rotations (bench.titles)",
    }
