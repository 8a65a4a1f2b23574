"""Remote control between two browser contexts of one user, through the server's WebSocket: one
(the "TV") waits on its home screen; the other casts a title to it from the title's page ("Play
on ..."), then opens the Remote screen, finds it among the user's devices and pauses, plays,
starts over and stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.pages import shot, sign_in, until_video, video
from tests.e2e.reelbox import PLAYABLE, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_remote_control_between_two_browsers(
    browser: Browser, page: Page, reelbox: Reelbox, artifacts: Path
) -> None:
    item = reelbox.items[PLAYABLE.title]
    tv_context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    tv_context.set_default_timeout(20_000)
    try:
        tv = await tv_context.new_page()
        failures: list[str] = []
        tv.on("pageerror", lambda error: failures.append(str(error)))
        await sign_in(tv, reelbox)

        await sign_in(page, reelbox)
        await page.goto(f"{reelbox.url}/item/{item}")
        await page.get_by_role("button", name="Play on Chrome on Linux").click()
        await expect(page.get_by_text("Sent to Chrome on Linux.")).to_be_visible()
        await expect(tv).to_have_url(f"{reelbox.url}/play/{item}")
        await until_video(tv, "v.currentTime > 1 && !v.paused", "the TV to play the cast title")
        await shot(page, artifacts, "item-play-on")

        await page.get_by_role("link", name="Remote", exact=True).click()
        await expect(page).to_have_url(f"{reelbox.url}/remote")
        # The only other device of this user is picked; this browser is not listed.
        target = page.get_by_role("radiogroup", name="Device").get_by_role("radio")
        await expect(target).to_have_count(1)
        await expect(target).to_have_accessible_name("Chrome on Linux")
        await expect(target).to_be_checked()
        await shot(page, artifacts, "remote")

        await page.get_by_role("button", name="Pause", exact=True).click()
        await until_video(tv, "v.paused", "the TV to pause")
        await expect(page.get_by_text("Pause: sent to Chrome on Linux.")).to_be_visible()
        paused_at = (await video(tv))["time"]
        await page.get_by_role("button", name="Play", exact=True).click()
        await until_video(tv, f"!v.paused && v.currentTime > {paused_at + 0.5}", "the TV to play")
        await until_video(tv, "v.currentTime > 3", "the TV past 3 s")
        await page.get_by_role("button", name="Start over", exact=True).click()
        await until_video(tv, "v.currentTime < 2.5", "the TV back at the start")
        await page.get_by_role("button", name="Stop", exact=True).click()
        await expect(tv).to_have_url(f"{reelbox.url}/")  # back where the cast found it
        await expect(tv.locator("video")).to_have_count(0)
        assert not failures, f"uncaught errors on the TV: {failures}"
    finally:
        await tv_context.close()
