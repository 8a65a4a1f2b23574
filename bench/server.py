"""``reelbox serve`` in a process of its own, and readings of that process alone.

The many-player scenarios measure the server's CPU and memory, so the server cannot share a
process with the load generator. ``Catalog.prepare`` scans a library and adds a user once, with
the real command line (``python -m web scan`` and ``user add``) into a data directory;
``serving`` then starts ``python -m web serve`` over it, as a user runs it (auth, the segment
cache, the scan scheduler; images, the watcher and the demo library off), logs in and lists the
items. ``Probe`` reads the process's CPU time, RSS, threads and open files from ``/proc``, and the
server's own counters (segment cache hits and misses, sessions) from ``/metrics``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

log = structlog.get_logger(__name__)

USER = "bench"
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Catalog:
    """A data directory holding a scanned library and a user who may play it."""

    data_dir: Path
    password: str

    @classmethod
    def prepare(cls, library: Path, data_dir: Path) -> Catalog:
        scan = [sys.executable, "-m", "web", "scan", "--kind", "movies", "--no-images", "--json"]
        _check([*scan, str(library)], _environment(data_dir))
        return cls.with_user(data_dir)

    @classmethod
    def with_user(cls, data_dir: Path, *, role: str = "admin") -> Catalog:
        """The catalog in ``data_dir`` (its ``reelbox.toml`` may name the database), with the
        bench user added as ``role`` (seeing every library)."""
        password = secrets.token_urlsafe(16)
        env = _environment(data_dir)
        _check(
            [
                sys.executable,
                "-m",
                "web",
                "user",
                "add",
                USER,
                "--role",
                role,
                "--password-stdin",
            ],
            env,
            stdin=password + "\n",
        )
        return cls(data_dir, password)


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int
    token: str  # an access token of the bench user
    items: tuple[int, ...]  # the playable items, in title order

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def serving(catalog: Catalog, *, encoders: int | None = None) -> Iterator[Server]:
    """``reelbox serve`` over ``catalog`` on a free loopback port, until the block ends (SIGTERM,
    then the process must exit on its own within 30 s)."""
    port = _free_port()
    env = _environment(catalog.data_dir, port=port)
    if encoders is not None:
        env["REELBOX_STREAM__ENCODERS"] = str(encoders)
    logfile = (catalog.data_dir / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, logfile.name)
        with httpx.Client(base_url=url, timeout=60) as client:
            login = client.post(
                "/api/auth/login", json={"username": USER, "password": catalog.password}
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            items = _items(client, token)
        yield Server(url, process.pid, token, items)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            log.error("bench.server.kill", pid=process.pid, log=logfile.name)
            process.kill()
            process.wait()
        logfile.close()


@dataclass(frozen=True, slots=True)
class Reading:
    at: float  # perf_counter seconds
    cpu_s: float  # user + system CPU time of the process so far
    rss_bytes: int
    threads: int
    fds: int


def read_process(pid: int) -> Reading:
    """CPU time, resident memory, threads and open descriptors of ``pid``, from ``/proc``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # the command name may hold spaces: the fields after it start past the last ')'
        fields = stat.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    rss = threads = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return Reading(time.perf_counter(), cpu, rss, threads, fds)


def counters(url: str, timeout: float = 120) -> dict[str, float]:
    """The server's ``reelbox_*`` samples from ``/metrics`` (labels dropped, values summed);
    empty when the server does not answer in time (a saturated server is a result to report,
    not a reason to lose the run)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=timeout).text
    except httpx.HTTPError as exc:
        log.warning("bench.server.metrics_unanswered", error=repr(exc))
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("reelbox_"):
            continue
        name, value = line.rsplit(" ", 1)
        name = name.split("{", 1)[0]
        found[name] = found.get(name, 0.0) + float(value)
    return found


def hit_rate(before: dict[str, float], after: dict[str, float]) -> float | None:
    """Segment cache hits over lookups between two ``counters`` readings."""
    hits = after.get("reelbox_segment_cache_hits_total", 0.0) - before.get(
        "reelbox_segment_cache_hits_total", 0.0
    )
    misses = after.get("reelbox_segment_cache_misses_total", 0.0) - before.get(
        "reelbox_segment_cache_misses_total", 0.0
    )
    return round(hits / (hits + misses), 4) if hits + misses else None


def _environment(data_dir: Path, *, port: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELBOX_")}
    env.update(
        REELBOX_DATA_DIR=str(data_dir),
        REELBOX_HOST="127.0.0.1",
        REELBOX_PORT=str(port),
        REELBOX_DEMO_LIBRARY="false",
        REELBOX_SCAN__WATCH="false",
        REELBOX_SCAN__IMAGES="false",
        REELBOX_SCAN__INTERVAL_S="86400",
        REELBOX_AUTH__ACCESS_TTL_S="86400",  # a soak outlives the default 15 minutes
        REELBOX_LOG_LEVEL="warning",
        REELBOX_WEBAPP_DIR=str(data_dir / "no-web-client"),
    )
    return env


def _check(command: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, check=False, timeout=900
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[1:4])} failed: {done.stderr[-2000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], logname: str) -> None:
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reelbox serve exited ({process.returncode}); see {logname}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"reelbox serve did not answer in 120 s; see {logname}")


def _items(client: httpx.Client, token: str) -> tuple[int, ...]:
    headers = {"Authorization": f"Bearer {token}"}
    found: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/items", params=params, headers=headers)
        page.raise_for_status()
        body = page.json()
        found += [(item.get("title") or "", item["id"]) for item in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    if not found:
        raise RuntimeError("the bench catalog holds no items")
    return tuple(item for _, item in sorted(found))
