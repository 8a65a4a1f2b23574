"""Downloads in the web client: download a title at a chosen quality (the progress bar reaches
100%), pause, resume and cancel downloads held in flight, delete one, see the storage used; then
go offline, reload, and play the downloaded copy from IndexedDB (its clock advances)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import anyio
import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Route, expect

from tests.e2e.pages import shot, sign_in, until_video
from tests.e2e.reelbox import PLAYABLE, TITLES, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

OTHER = TITLES[1]
ORIGINAL = "**/api/items/*/download?quality=original"


class Gate:
    """Holds the original-quality downloads in flight until opened, so that the test can pause
    and cancel them while they run."""

    def __init__(self) -> None:
        self.open = anyio.Event()
        self.held = 0

    async def __call__(self, route: Route) -> None:
        self.held += 1
        await self.open.wait()
        # The page may have given up on it (paused or cancelled): nothing to continue then.
        with contextlib.suppress(PlaywrightError):
            await route.continue_()


async def download(page: Page, reelbox: Reelbox, title: str, quality: str) -> None:
    await page.goto(f"{reelbox.url}/item/{reelbox.items[title]}")
    button = page.get_by_role("button", name=re.compile(rf"^Download {quality}\b"))
    await button.click()
    await expect(button).to_be_disabled()


def row(page: Page, name: str) -> Locator:
    return page.get_by_role("listitem", name=name, exact=True)


async def test_download_pause_resume_cancel_delete_and_play_offline(
    page: Page, reelbox: Reelbox, artifacts: Path
) -> None:
    await sign_in(page, reelbox)

    # A transcode at 360p, streamed as it is made: the bar reaches 100%.
    await download(page, reelbox, PLAYABLE.title, "360p")
    await shot(page, artifacts, "item-download")
    await page.get_by_role("button", name="Open Downloads").click()
    await expect(page).to_have_url(f"{reelbox.url}/downloads")
    small = row(page, f"{PLAYABLE.title} (360p)")
    await expect(small.get_by_text(re.compile(r"^Downloaded \("))).to_be_visible(timeout=60_000)
    await expect(small.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    await expect(page.get_by_text(re.compile(r"^Storage used: [1-9]"))).to_be_visible()

    # The original, held in flight: pause it, resume it, and it finishes.
    gate = Gate()
    await page.route(ORIGINAL, gate)
    await download(page, reelbox, PLAYABLE.title, "Original")
    await page.get_by_role("link", name="Downloads").click()
    big = row(page, f"{PLAYABLE.title} (Original)")
    await expect(big.get_by_text(re.compile(r"^Downloading"))).to_be_visible()
    await big.get_by_role("button", name=f"Pause {PLAYABLE.title} (Original)").click()
    await expect(big.get_by_text(re.compile(r"^Paused at"))).to_be_visible()
    await shot(page, artifacts, "downloads-paused")
    gate.open.set()
    await big.get_by_role("button", name=f"Resume {PLAYABLE.title} (Original)").click()
    await expect(big.get_by_text(re.compile(r"^Downloaded \("))).to_be_visible(timeout=60_000)
    assert gate.held == 2, gate.held

    # Another title held in flight, then cancelled: it leaves the list.
    await page.unroute(ORIGINAL)
    held = Gate()
    await page.route(ORIGINAL, held)
    await download(page, reelbox, OTHER.title, "Original")
    await page.get_by_role("link", name="Downloads").click()
    cancelled = row(page, f"{OTHER.title} (Original)")
    await expect(cancelled.get_by_text(re.compile(r"^Downloading"))).to_be_visible()
    await cancelled.get_by_role("button", name=f"Cancel {OTHER.title} (Original)").click()
    await expect(cancelled).to_have_count(0)
    held.open.set()
    await page.unroute(ORIGINAL)

    # Delete the finished original: the storage used goes down to the 360p copy.
    used = await page.get_by_text(re.compile(r"^Storage used:")).inner_text()
    await big.get_by_role("button", name=f"Delete {PLAYABLE.title} (Original)").click()
    await expect(big).to_have_count(0)
    await expect(page.get_by_text(re.compile(r"^Storage used: [1-9]"))).not_to_have_text(used)
    await shot(page, artifacts, "downloads")

    # Offline: the app still opens (its service worker kept the page and bundles), says it is
    # offline, and the downloaded copy plays from IndexedDB.
    await page.context.set_offline(True)
    await page.reload()
    await expect(page.get_by_role("status", name=re.compile("^Offline"))).to_be_visible()
    await expect(small.get_by_text(re.compile(r"^Downloaded \("))).to_be_visible()
    await shot(page, artifacts, "downloads-offline")
    await small.get_by_role("button", name=f"Play {PLAYABLE.title} (360p)").click()
    await until_video(page, "v.src.startsWith('blob:') && v.currentTime > 1.5", "offline playback")
    await until_video(page, "v.videoHeight === 360", "the 360p picture")
    await shot(page, artifacts, "player-offline")
    await page.context.set_offline(False)
