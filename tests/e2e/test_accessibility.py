"""axe-core (tests/browser/node_modules) audits the web client's main screens as a user reaches
them: login, home, library, search with results, remote control, a title's page, the player with
its controls and the quality menu open. No violation of serious or critical impact is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import axe_violations, report, shot, sign_in, until_video
from tests.e2e.reelbox import PLAYABLE, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def audit(page: Page, name: str, artifacts: Path, found: dict[str, str]) -> None:
    await shot(page, artifacts, name)
    violations = await axe_violations(page)
    if violations:
        found[name] = report(violations)


async def test_main_screens_pass_axe(page: Page, reelbox: Reelbox, artifacts: Path) -> None:
    found: dict[str, str] = {}
    await page.goto(f"{reelbox.url}/")
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    await audit(page, "login", artifacts, found)

    await sign_in(page, reelbox)
    await expect(page.get_by_role("list", name="Drama")).to_be_visible()
    await audit(page, "home", artifacts, found)

    await page.get_by_role("link", name="Library", exact=True).click()
    await expect(page.get_by_role("checkbox", name="Drama, 2 items")).to_be_visible()
    await audit(page, "library", artifacts, found)

    await page.get_by_role("link", name="Search", exact=True).click()
    await page.get_by_role("searchbox", name="Search").fill("grid")
    await expect(page.get_by_text("1 result", exact=True)).to_be_visible()
    await audit(page, "search", artifacts, found)

    await page.get_by_role("link", name="Remote", exact=True).click()
    await expect(page.get_by_text("None of your other devices is connected.")).to_be_visible()
    await audit(page, "remote", artifacts, found)

    await page.goto(f"{reelbox.url}/item/{reelbox.items[PLAYABLE.title]}")
    await expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    await audit(page, "item", artifacts, found)

    await page.get_by_role("button", name="Play", exact=True).click()
    await until_video(page, "v.currentTime > 1 && !v.paused", "playback")
    await page.keyboard.press(" ")  # paused: the controls stay
    await until_video(page, "v.paused", "the pause")
    await audit(page, "player", artifacts, found)
    await page.get_by_role("button", name="Quality: Auto").click()
    await expect(page.get_by_role("radiogroup", name="Quality")).to_be_visible()
    await audit(page, "player-quality-menu", artifacts, found)

    assert not found, "\n".join(f"{screen}: {text}" for screen, text in found.items())
