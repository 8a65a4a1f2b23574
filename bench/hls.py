"""What a player reads from HLS playlists: segment URIs, their durations, variants, relative URLs.
Shared by every scenario that plays like a player."""

from __future__ import annotations

import re

import httpx


def durations(playlist: str) -> list[float]:
    return [float(m) for m in re.findall(r"#EXTINF:([0-9.]+)", playlist)]


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def init_uri(playlist: str) -> str:
    found = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
    if found is None:
        raise RuntimeError(f"no init segment in the media playlist:\n{playlist}")
    return found.group(1)


def audio_uri(master: str) -> str:
    """The first audio rendition's playlist URI in a master playlist."""
    found = re.search(r'TYPE=AUDIO[^\n]*URI="([^"]+)"', master)
    if found is None:
        raise RuntimeError(f"no audio rendition in the master playlist:\n{master}")
    return found.group(1)


def variant(master: str, height: int) -> str:
    """The URI of the master playlist's variant ``height`` lines tall."""
    lines = master.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF") and re.search(rf"RESOLUTION=\d+x{height}\b", line):
            return lines[n + 1]
    raise RuntimeError(f"no variant {height} lines tall in the master playlist:\n{master}")


def bandwidth(master: str, height: int) -> int:
    """The BANDWIDTH the master playlist declares for the variant ``height`` lines tall."""
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF") and re.search(rf"RESOLUTION=\d+x{height}\b", line):
            found = re.search(r"[:,]BANDWIDTH=(\d+)", line)
            if found:
                return int(found.group(1))
    raise RuntimeError(f"no BANDWIDTH for the variant {height} lines tall:\n{master}")


def join(url: str, relative: str) -> str:
    return str(httpx.URL(url).join(relative))
