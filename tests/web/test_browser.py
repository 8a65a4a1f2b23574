"""Real Chromium plays what Reelbox serves: Debian's /usr/bin/chromium, driven by playwright,
runs hls.js (pinned in tests/browser/package.json) on a muted <video>, as the web client does.

The page (tests/browser/player.html) and hls.min.js come from their own loopback port, another
origin than the server's, so the stream routes' CORS is exercised too. (A page on a
non-loopback origin would meet Chromium's Private Network Access block instead.) The clip is
640x480, so the master playlist offers the original (a remux) and a 480x360 transcode; playback
starts on the original, seeks to 80%, then switches down to the transcode.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from ingest.demo import synthesize_clip
from tests.fixtures.server import Server, running_server
from tests.fixtures.services import service_missing

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
BROWSER = Path(__file__).resolve().parents[1] / "browser"
HLS_JS = BROWSER / "node_modules" / "hls.js" / "dist" / "hls.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SECONDS = 60
FPS = 25
ORIGINAL = (640, 480)
LADDER = (480, 360)  # the 360p rung of a 640x480 source
SEEK_LIMIT_MS = 2000  # from the seek until it has played on past the target
SEEK_MARGIN_S = 0.5
# The player buffers this far ahead: at 5 s it holds under 20 s and the server has prefetched
# three segments past that, so the seek to 48 s asks for a segment nobody has made yet.
BUFFER_S = 10


@pytest.fixture
async def server(sqlite_catalog_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Browser Test (2021).mp4",
        seconds=SECONDS,
        width=ORIGINAL[0],
        height=ORIGINAL[1],
        fps=FPS,
        gop=2 * FPS,
    )
    async with running_server(sqlite_catalog_url, source) as server:
        yield server


@pytest.fixture
def player_url() -> Iterator[str]:
    """The player page and hls.js, served from their own loopback port."""
    if not HLS_JS.exists():
        service_missing("hls.js", f"{HLS_JS} is missing: npm install in {BROWSER} (tests/run.sh)")
    files = {
        "/player.html": (BROWSER / "player.html", "text/html; charset=utf-8"),
        "/hls.min.js": (HLS_JS, "text/javascript"),
    }

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, kind = files.get(self.path.split("?")[0], (None, ""))
            if path is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            body = path.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Files) as http:
        thread = threading.Thread(target=http.serve_forever, name="player-files", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{http.server_address[1]}/player.html"
        finally:
            http.shutdown()
            thread.join()


@pytest.fixture
async def page(player_url: str) -> AsyncIterator[Page]:
    """The player page in Debian's Chromium, hls.js loaded, nothing playing yet."""
    if not CHROMIUM.exists():
        service_missing("Chromium", f"{CHROMIUM} is missing: bash tests/ensure-system.sh chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(30_000)
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))
            await page.goto(player_url)
            assert await page.evaluate("typeof Hls === 'function' && Hls.isSupported()")
            yield page
            assert not failures, f"uncaught errors in the page: {failures}"
        finally:
            await browser.close()


async def test_chromium_plays_seeks_and_switches_renditions(page: Page, server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/api/playback", json={"item_id": server.item_id, "profile": "chromium"}
        )
    assert response.status_code == 201, response.text
    master = f"{server.url}{response.json()['master_url']}"

    levels = await page.evaluate(
        "([url, height, buffer]) => start(url, height, buffer)", [master, ORIGINAL[1], BUFFER_S]
    )
    sizes = [(level["width"], level["height"]) for level in levels]
    assert sorted(sizes) == sorted([ORIGINAL, LADDER]), levels
    original, ladder = sizes.index(ORIGINAL), sizes.index(LADDER)

    # 1. It plays: the clock passes 5 s on the original, with no error and no wait past the
    # start (a gap at a segment boundary would stall there).
    await _until(page, "video.currentTime >= 5 && !video.paused", "playback to reach 5 s", 20)
    record = await _record(page)
    assert not _errors(record), _report("hls.js errors while playing", record)
    assert not [w for w in record["waiting"] if w["time"] > 0.1], _report("it stalled", record)
    assert {f["level"] for f in record["fragments"] if f["type"] == "main"} == {original}
    assert (await _state(page))["width"] == ORIGINAL[0]

    # 2. A seek to 80% of the clip, past all that is buffered, plays on past the target within
    # 2 s (the page's clock), on the same rendition: hls.js retries no 4xx (429 included) but
    # gives up the level, so the server must fail no request.
    before = await _state(page)
    duration = before["duration"]
    assert abs(duration - SECONDS) < 0.5, duration
    target = round(0.8 * duration, 3)
    assert all(end < target for _, end in before["buffered"]), before
    elapsed = await page.evaluate(
        "([target, margin, limit]) => seek(target, margin, limit)",
        [target, SEEK_MARGIN_S, 10_000],
    )
    seeked = (await _state(page))["now"]
    record = await _record(page)
    assert not _errors(record), _report(f"hls.js errors after the seek to {target} s", record)
    assert elapsed is not None, _report(f"the seek to {target} s never played on", record)
    slow = f"the seek to {target} s took {elapsed:.0f} ms"
    assert elapsed <= SEEK_LIMIT_MS, _report(slow, record)
    assert [s["level"] for s in record["switched"]] == [original], _report("level lost", record)
    assert any(
        f["type"] == "main" and f["start"] <= target < f["end"] for f in record["fragments"]
    ), _report("the target's segment was never loaded", record)

    # 3. A switch down to the transcode, made just in time, the smooth way (hls.nextLevel):
    # fragments of the new level load, LEVEL_SWITCHED reports it, the picture shrinks, and
    # playback never waits.
    await page.evaluate("(level) => switchTo(level)", ladder)
    await _until(
        page,
        f"record.switched.some((s) => s.level === {ladder}) && "
        "video.currentTime >= record.switched.at(-1).time + 1.5",
        "the switch to the transcoded rendition and 1.5 s of playback after it",
        15,
    )
    record = await _record(page)
    [requested] = record["requested"]
    assert requested["from"] == original, requested
    after = [f for f in record["fragments"] if f["at"] >= requested["at"] and f["type"] == "main"]
    assert any(f["level"] == ladder for f in after), _report("no fragment of the new level", record)
    assert [s["level"] for s in record["switched"]] == [original, ladder], record["switched"]
    assert not _errors(record), _report("hls.js errors after the switch", record)
    waits = [w for w in record["waiting"] if w["at"] >= seeked]
    assert not waits, _report(f"playback waited after the switch at {requested['time']} s", record)
    state = await _state(page)
    assert (state["width"], state["height"]) == LADDER, state
    assert not state["paused"] and state["mediaError"] is None, state


async def _until(page: Page, condition: str, what: str, seconds: float) -> None:
    try:
        await page.wait_for_function(f"() => {condition}", timeout=seconds * 1000, polling=50)
    except PlaywrightError as exc:
        record = await _record(page)
        record["state"] = await _state(page)
        raise AssertionError(_report(f"waited {seconds} s for {what}", record)) from exc


async def _record(page: Page) -> dict[str, Any]:
    record: dict[str, Any] = await page.evaluate("structuredClone(record)")
    return record


async def _state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate("state()")
    return state


def _errors(record: dict[str, Any]) -> list[dict[str, Any]]:
    """hls.js's errors, less its aborts of its own requests (on a seek): fatal or not, each is a
    request that failed or media it could not use."""
    return [e for e in record["errors"] if e["details"] != "aborted"]


def _report(what: str, record: dict[str, Any]) -> str:
    return f"{what}\n{json.dumps(record, indent=1, default=str)}"
