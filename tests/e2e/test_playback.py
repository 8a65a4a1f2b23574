"""Playback in the web client (hls.js on a <video>) from a real Reelbox: press Play on a title's
page and its clock advances; switch to the 360p transcode and the picture follows; seek with the
seek bar; reload, and it resumes where the server says it was left."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import shot, sign_in, until_video, video
from tests.e2e.reelbox import PLAYABLE, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

US = 1_000_000
LADDER_HEIGHT = 360  # the transcoded rung below the 640x480 original


async def saved_position(reelbox: Reelbox, at_least_s: float) -> int:
    """The resume position the server holds, once it is ``at_least_s`` (the last report of a page
    that went away is sent as it goes and stored a moment later)."""
    position = 0
    with anyio.move_on_after(5):
        while True:
            found = (await reelbox.user_data(PLAYABLE.title))["position_us"]
            assert isinstance(found, int)
            position = found
            if position / US >= at_least_s:
                break
            await anyio.sleep(0.1)
    assert position / US >= at_least_s, f"the server kept {position / US} s, not {at_least_s} s"
    return position


async def show_controls(page: Page) -> None:
    """The controls hide while playing; moving the pointer over the player brings them back."""
    await page.mouse.move(300, 300)
    await page.mouse.move(320, 320)
    await expect(page.locator("input.rb-seek")).to_be_visible()


async def test_play_switch_quality_seek_and_resume(
    page: Page, reelbox: Reelbox, artifacts: Path
) -> None:
    item = reelbox.items[PLAYABLE.title]
    await sign_in(page, reelbox)
    await page.goto(f"{reelbox.url}/item/{item}")
    await page.get_by_role("button", name="Play", exact=True).click()
    await expect(page).to_have_url(f"{reelbox.url}/play/{item}")

    # It plays: the clock advances, on the original picture.
    await until_video(page, "v.currentTime > 1.5 && !v.paused", "playback to pass 1.5 s")
    first = await video(page)
    assert abs(first["duration"] - PLAYABLE.seconds) < 0.5, first
    assert (first["width"], first["height"]) == PLAYABLE.size, first
    await show_controls(page)
    await shot(page, artifacts, "player")

    # Quality: the menu lists Auto and both renditions; 360p is a transcode made as it plays.
    await page.get_by_role("button", name="Quality: Auto").click()
    menu = page.get_by_role("radiogroup", name="Quality")
    await expect(menu.get_by_role("radio")).to_have_count(3)
    await expect(menu.get_by_role("radio", name="Auto")).to_be_checked()
    await shot(page, artifacts, "player-quality-menu")
    await menu.get_by_role("radio", name=f"{LADDER_HEIGHT}p").click()
    await expect(menu).to_have_count(0)
    await until_video(
        page, f"v.videoHeight === {LADDER_HEIGHT} && !v.paused", "the 360p picture", 30
    )
    switched = (await video(page))["time"]
    await until_video(page, f"v.currentTime > {switched + 1}", "playback on at 360p")
    await show_controls(page)
    await expect(page.get_by_role("button", name=f"Quality: {LADDER_HEIGHT}p")).to_be_visible()

    # Seek: a click at three quarters of the seek bar.
    bar = page.locator("input.rb-seek")
    box = await bar.bounding_box()
    assert box is not None
    await bar.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    target = 0.75 * PLAYABLE.seconds
    await until_video(
        page,
        f"v.currentTime > {target - 1.5} && v.currentTime < {target + 4} && !v.paused",
        f"the seek to about {target} s",
    )
    sought = (await video(page))["time"]
    await until_video(page, f"v.currentTime > {sought + 1}", "playback on after the seek")
    await show_controls(page)
    await shot(page, artifacts, "player-seeked")

    # Reload while playing: the last position reaches the server as the page goes (keepalive),
    # and the player starts from it.
    left_at = (await video(page))["time"]
    await page.reload()
    saved = await saved_position(reelbox, left_at - 0.5)
    assert saved / US <= left_at + 2, (left_at, saved)
    await until_video(page, "v.readyState >= 2", "the player to load after the reload")
    resumed = await video(page)  # it may have played on a little already (autoplay)
    assert saved / US - 1 <= resumed["time"] <= saved / US + 4, (resumed, saved)
    if resumed["paused"]:  # no autoplay without a gesture on the new page
        await show_controls(page)
        await page.get_by_role("button", name="Play", exact=True).click()
    await until_video(page, f"v.currentTime > {saved / US + 1}", "playback on after resuming")
