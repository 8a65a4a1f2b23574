"""The web client with the keyboard only, as on a TV remote: sign in, move through the home rows
with the arrows, Enter to open a title and to play it; in the player space pauses and plays, the
arrows seek 10 s, m mutes, c turns captions on, f goes full screen, Escape leaves full screen and
then the player. Not one click."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.pages import home_shown, shot, until_video, video
from tests.e2e.reelbox import PLAYABLE, TITLES, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def focused(page: Page) -> str:
    """The accessible name (or text) of the focused element."""
    name: str = await page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? (e.getAttribute('aria-label') || e.textContent || e.tagName) : ''; }"
    )
    return name


async def focused_row(page: Page) -> str | None:
    """The name of the home row holding the focused element."""
    name: str | None = await page.evaluate(
        "() => document.activeElement?.closest('[role=list]')?.getAttribute('aria-label')"
    )
    return name


async def press(page: Page, key: str, times: int = 1) -> None:
    for _ in range(times):
        await page.keyboard.press(key)
        await page.wait_for_timeout(50)  # a render between presses, as a person would leave


async def test_home_and_player_with_the_keyboard(
    page: Page, reelbox: Reelbox, artifacts: Path
) -> None:
    await page.goto(f"{reelbox.url}/")
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    await press(page, "Tab", 2)  # the server address, then the username
    await page.keyboard.type(reelbox.username)
    await press(page, "Tab")
    await page.keyboard.type(reelbox.password)
    await press(page, "Enter")
    await home_shown(page, reelbox.url)
    recent = page.get_by_role("list", name="Recently added").get_by_role("link")
    await expect(recent).to_have_count(len(TITLES))

    # Arrows: into the first row, then right along it to the title to play.
    await press(page, "ArrowDown")
    assert await focused(page) == "Home"
    await press(page, "ArrowDown")
    order = [await card.get_attribute("aria-label") for card in await recent.all()]
    assert await focused(page) == order[0]
    target = next(i for i, name in enumerate(order) if (name or "").startswith(PLAYABLE.title))
    await press(page, "ArrowRight", target)
    assert await focused(page) == order[target]
    await shot(page, artifacts, "home-focused")
    # Down into the next row (a genre), up into this one again, and back along it.
    await press(page, "ArrowDown")
    assert await focused_row(page) == "Drama"
    await press(page, "ArrowUp")
    assert await focused_row(page) == "Recently added"
    here = order.index(await focused(page))
    await press(page, "ArrowRight" if here < target else "ArrowLeft", abs(target - here))
    assert await focused(page) == order[target]

    # Enter opens the title; its Play button has the focus; Enter plays.
    await press(page, "Enter")
    await expect(page).to_have_url(f"{reelbox.url}/item/{reelbox.items[PLAYABLE.title]}")
    await expect(page.get_by_role("button", name="Play", exact=True)).to_be_focused()
    await press(page, "Enter")
    await until_video(page, "v.currentTime > 1 && !v.paused", "playback to start")

    # Space pauses (and brings back the controls, hidden while playing, focus on Play).
    await press(page, " ")
    await until_video(page, "v.paused", "the pause")
    await expect(page.get_by_role("button", name="Play", exact=True)).to_be_focused()
    paused_at = (await video(page))["time"]
    await page.wait_for_timeout(500)
    assert (await video(page))["time"] == paused_at
    await press(page, " ")  # on the focused Play button: it presses it
    await until_video(page, f"!v.paused && v.currentTime > {paused_at + 0.5}", "play again")

    # Right and left: 10 s forward, then back.
    before = (await video(page))["time"]
    await press(page, "ArrowRight")
    await until_video(page, f"v.currentTime >= {before + 9.5}", "10 s forward")
    ahead = (await video(page))["time"]
    await press(page, "ArrowLeft")
    await until_video(page, f"v.currentTime <= {ahead - 8}", "10 s back")

    # m mutes, c shows the captions, f goes full screen.
    await press(page, "m")
    await until_video(page, "v.muted", "mute")
    await press(page, "c")
    await until_video(
        page,
        "Array.from(v.textTracks).some((t) => t.mode === 'showing')",
        "captions on",
    )
    await expect(page.get_by_role("switch", name="Captions on")).to_be_visible()
    # The clip's second cue runs from 10 s to 11 s: it shows, and a pause keeps it on screen.
    await until_video(
        page,
        "Array.from(v.textTracks).some((t) => t.mode === 'showing'"
        " && Array.from(t.activeCues || []).some((c) => c.text === 'Cue 2'))",
        "the cue at 10 s on screen",
    )
    await press(page, " ")
    await until_video(page, "v.paused", "the pause on the cue")
    # The controls show while paused: the cues move up above their bar.
    bar = await page.locator("input.rb-seek").bounding_box()
    assert bar is not None
    lift = await page.evaluate(
        "() => getComputedStyle(document.querySelector('video')).getPropertyValue('--rb-cue-lift')"
    )
    assert float(lift.removesuffix("px")) >= VIEWPORT["height"] - bar["y"], (lift, bar)
    await press(page, "f")
    await until_video(page, "!!document.fullscreenElement", "full screen")
    await shot(page, artifacts, "player-fullscreen-captions")
    await press(page, "m")
    await until_video(page, "!v.muted", "unmute")

    # Escape: out of full screen first, then out of the player, back to the title.
    await press(page, "Escape")
    await until_video(page, "!document.fullscreenElement", "leaving full screen")
    await expect(page).to_have_url(f"{reelbox.url}/play/{reelbox.items[PLAYABLE.title]}")
    await press(page, "Escape")
    await expect(page).to_have_url(f"{reelbox.url}/item/{reelbox.items[PLAYABLE.title]}")
    await expect(page.locator("video")).to_have_count(0)
