"""A library of many distinct titles for the many-player scenarios, generated and cached.

Encoding 50 different 1080p films on two cores would take an hour, so the titles are derived:

1. A few **source clips** are encoded once with the ffmpeg CLI, each from a different FFmpeg test
   pattern (``testsrc2``, ``smptehdbars``, ``rgbtestsrc`` ...) with temporal noise on top, so the
   encoder really spends the bit rate (~8 Mbit/s, 1080p25, H.264 High, a keyframe every 2 s
   exactly) and the AAC tone differs per source.
2. Each **title** is a stream copy (no re-encode) of all the sources joined in one order (a
   permutation) and rotated by an offset that is a whole number of GOPs: the concat demuxer cuts
   on keyframes, so every title is a valid file whose bytes, keyframe positions and timestamps
   differ from every other title's at any given time.

Every title is its own file, hence its own media version in the catalog: segment cache keys name
the version, so no two titles share a cached segment, and their pages in the OS cache are their
own. What the titles do share is the look of their pictures, which changes nothing for remuxing
(bytes are copied) and little for transcoding (each source's pattern costs the encoder alike).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from bench.scan import CACHE

log = structlog.get_logger(__name__)

PATTERNS = ("testsrc2", "smptehdbars", "rgbtestsrc", "testsrc", "yuvtestsrc")
WORDS = (
    "Amber", "Bridge", "Cinder", "Delta", "Ember", "Falcon", "Granite", "Hollow",
    "Island", "Juniper", "Kestrel", "Lumen", "Meadow", "Nomad", "Ocean", "Prairie",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LibrarySpec:
    titles: int
    sources: int
    source_seconds: int  # each source; a title is all of them joined: sources * source_seconds
    width: int
    height: int
    fps: int
    gop: int  # frames
    bit_rate: int

    @property
    def title_seconds(self) -> int:
        return self.sources * self.source_seconds

    @property
    def gop_seconds(self) -> float:
        return self.gop / self.fps

    @property
    def folder(self) -> Path:
        kbps = self.bit_rate // 1000
        return CACHE / f"players-v1-{self.height}p-{self.titles}x{self.title_seconds}s-{kbps}k"


FULL = LibrarySpec(
    titles=50,
    sources=3,
    source_seconds=40,
    width=1920,
    height=1080,
    fps=25,
    gop=50,
    bit_rate=8_000_000,
)
QUICK = LibrarySpec(
    titles=4,
    sources=2,
    source_seconds=10,
    width=854,
    height=480,
    fps=25,
    gop=50,
    bit_rate=1_000_000,
)


def library(spec: LibrarySpec) -> Path:
    """The folder of ``spec.titles`` titles (what Reelbox scans); made once, then reused."""
    root = spec.folder / "library"
    done = spec.folder / ".complete"
    if done.exists():
        return root
    if shutil.which("ffmpeg") is None:
        raise SystemExit("the players library is made with ffmpeg: apt-get install ffmpeg")
    sources = [_source(spec, n) for n in range(spec.sources)]
    root.mkdir(parents=True, exist_ok=True)
    for n in range(spec.titles):
        path = root / f"{title_name(n)}.mp4"
        if not path.exists():
            _title(spec, sources, n, path)
    done.touch()
    return root


def title_name(n: int) -> str:
    """ "Word Word (Year)": a film name guessit parses, the year keeps each one distinct."""
    return f"{WORDS[n % len(WORDS)]} {WORDS[(n // len(WORDS) + 5) % len(WORDS)]} ({1950 + n})"


def _source(spec: LibrarySpec, n: int) -> Path:
    path = spec.folder / "sources" / f"source-{n}.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    pattern = PATTERNS[n % len(PATTERNS)]
    size = f"{spec.width}x{spec.height}"
    rate = str(spec.bit_rate)
    log.warning(
        "bench.titles.encoding_source", source=n, pattern=pattern, seconds=spec.source_seconds
    )
    command = [
        "ffmpeg", "-v", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={spec.fps},noise=alls=12:allf=t",
        "-f", "lavfi", "-i", f"sine=frequency={330 + 110 * n}:sample_rate=48000",
        "-t", str(spec.source_seconds), "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-b:v", rate, "-maxrate", rate, "-bufsize", str(spec.bit_rate * 2),
        "-x264-params", f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0",
        "-c:a", "aac", "-ac", "2", "-b:a", "128k", "-movflags", "+faststart", str(partial),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    os.replace(partial, path)
    return path


def pieces(spec: LibrarySpec, n: int) -> list[tuple[int, float, float]]:
    """Title ``n`` as (source, inpoint, outpoint) cuts: the sources in the ``n``th order,
    rotated by a whole number of GOPs. Distinct for every ``n`` below orders * rotations."""
    orders = list(itertools.permutations(range(spec.sources)))
    order = orders[n % len(orders)]
    gops = spec.title_seconds / spec.gop_seconds
    offset_gops = (n // len(orders)) * 7 % int(gops)  # 7 is prime to the usual GOP counts
    offset = offset_gops * spec.gop_seconds
    timeline = [(s, k * spec.source_seconds) for k, s in enumerate(order)]
    cuts: list[tuple[int, float, float]] = []
    for start, stop in ((offset, spec.title_seconds), (0.0, offset)):
        for source, at in timeline:
            lo, hi = max(start, at), min(stop, at + spec.source_seconds)
            if hi > lo:
                cuts.append((source, lo - at, hi - at))
    return cuts


def _title(spec: LibrarySpec, sources: list[Path], n: int, path: Path) -> None:
    listing = spec.folder / f".title-{n}.concat.txt"  # beside the library, never in it
    lines = ["ffconcat version 1.0"]
    for source, inpoint, outpoint in pieces(spec, n):
        lines += [f"file '{sources[source]}'", f"inpoint {inpoint:.3f}", f"outpoint {outpoint:.3f}"]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial = spec.folder / f".title-{n}.partial.mp4"
    command = [
        "ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0",
        "-i", str(listing), "-map", "0", "-c", "copy", "-movflags", "+faststart", str(partial),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    listing.unlink()
    os.replace(partial, path)
