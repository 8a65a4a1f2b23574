"""Browsing the generated library in the web client: the home rows, the library grid filtered by
genre and by what is unwatched (after marking a title watched on its page), and search as you
type."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.pages import shot, sign_in
from tests.e2e.reelbox import TITLES, Reelbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

EVERYTHING = sorted(t.card for t in TITLES)
DRAMA = sorted(t.card for t in TITLES if "Drama" in t.genres)


async def card_titles(cards: Locator) -> list[str]:
    """The first line of each visible card (its name: "Title, 2021, ..."), sorted."""
    names = [await card.get_attribute("aria-label") or "" for card in await cards.all()]
    return sorted(name.split(",")[0] for name in names)


def grid(page: Page) -> Locator:
    return page.get_by_role("main").get_by_role("link")


async def expect_cards(cards: Locator, titles: list[str]) -> None:
    await expect(cards).to_have_count(len(titles))
    assert await card_titles(cards) == titles


async def test_home_library_filters_and_search(
    page: Page, reelbox: Reelbox, artifacts: Path
) -> None:
    await sign_in(page, reelbox)

    # Home: recently added holds everything (episodes under their series), a row per genre.
    await expect_cards(
        page.get_by_role("list", name="Recently added").get_by_role("link"), EVERYTHING
    )
    await expect_cards(page.get_by_role("list", name="Drama").get_by_role("link"), DRAMA)
    await expect_cards(page.get_by_role("list", name="Comedy").get_by_role("link"), ["Colour Bars"])

    # The library grid, filtered by genre.
    await page.get_by_role("link", name="Library", exact=True).click()
    await expect(page).to_have_url(f"{reelbox.url}/library")
    await expect_cards(grid(page), EVERYTHING)
    drama = page.get_by_role("checkbox", name="Drama, 2 items")
    await drama.click()
    await expect(drama).to_have_attribute("aria-checked", "true")
    await expect_cards(grid(page), DRAMA)
    await shot(page, artifacts, "library-drama")

    # Mark one watched on its page, come back: the unwatched filter leaves it out.
    await grid(page).filter(has_text="Moving Grid").click()
    await expect(page).to_have_url(f"{reelbox.url}/item/{reelbox.items['Moving Grid']}")
    await page.get_by_role("button", name="Mark watched").click()
    await expect(page.get_by_role("button", name="Mark unwatched")).to_be_visible()
    assert (await reelbox.user_data("Moving Grid"))["played"] is True
    await shot(page, artifacts, "item-watched")
    await page.go_back()
    await expect(page).to_have_url(f"{reelbox.url}/library")
    unwatched = page.get_by_role("checkbox", name="Unwatched")
    await unwatched.click()
    await expect(unwatched).to_have_attribute("aria-checked", "true")
    await expect_cards(grid(page), ["Night Signal"])
    await drama.click()  # all genres, still unwatched only
    await expect_cards(grid(page), [t for t in EVERYTHING if t != "Moving Grid"])
    await shot(page, artifacts, "library-unwatched")

    # Search: results as you type.
    await page.get_by_role("link", name="Search", exact=True).click()
    field = page.get_by_role("searchbox", name="Search", exact=True)
    await expect(field).to_be_focused()
    await field.press_sequentially("signal", delay=40)
    await expect_cards(grid(page), ["Night Signal"])
    await expect(page.get_by_text("1 result", exact=True)).to_be_visible()
    await shot(page, artifacts, "search")
    await field.fill("zzzqqq")
    await expect(page.get_by_text("No title matches “zzzqqq”.")).to_be_visible()
    await expect(grid(page)).to_have_count(0)
