"""What the end-to-end tests do to the web client's pages: sign in, take a screenshot, audit
accessibility with axe-core, read the player's <video>."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.reelbox import Reelbox
from tests.fixtures.services import service_missing

AXE_JS = (
    Path(__file__).resolve().parents[1] / "browser" / "node_modules" / "axe-core" / "axe.min.js"
)
# What the audit fails on: axe's two worst impact levels.
BLOCKING = {"serious", "critical"}


async def sign_in(page: Page, reelbox: Reelbox, *, url: str | None = None) -> None:
    """Open the app (at ``url``, else the server's own), sign in with the password, and wait for
    the home screen."""
    await page.goto(url or f"{reelbox.url}/")
    await expect(page).to_have_url(f"{url or reelbox.url}/login")
    await page.get_by_label("Username", exact=True).fill(reelbox.username)
    await page.get_by_label("Password", exact=True).fill(reelbox.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await home_shown(page, url or reelbox.url)


async def home_shown(page: Page, origin: str) -> None:
    await expect(page).to_have_url(f"{origin}/")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# The pictures in view have loaded (screens under the current one, and rows below the fold, may
# hold lazy pictures that never load) and so have the fonts.
SETTLED = """() => document.fonts.status === 'loaded' && Array.from(document.images).every((i) => {
    const r = i.getBoundingClientRect();
    const inView = r.width > 0 && r.bottom > 0 && r.right > 0
        && r.top < innerHeight && r.left < innerWidth;
    return i.complete || !inView;
})"""


async def shot(page: Page, folder: Path, name: str) -> Path:
    """A screenshot of the page once its requests have settled and its pictures decoded."""
    await page.wait_for_load_state("networkidle")
    await page.wait_for_function(SETTLED)
    await page.wait_for_timeout(200)  # expo-image fades pictures in (150 ms)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), caret="hide")
    return path


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA audit of the page as it is: the violations of serious or
    critical impact, each with the nodes that break it."""
    if not AXE_JS.exists():
        service_missing("axe-core", f"{AXE_JS} is missing: npm install in tests/browser")
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE_JS))
    result: dict[str, Any] = await page.evaluate(
        """() => axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [(n["target"], n["failureSummary"]) for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def report(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)


VIDEO_STATE = """() => {
    const v = document.querySelector('video');
    if (!v) return null;
    return {
        time: v.currentTime, paused: v.paused, muted: v.muted, volume: v.volume,
        duration: v.duration, width: v.videoWidth, height: v.videoHeight,
        error: v.error && v.error.code,
        tracks: Array.from(v.textTracks).map((t) => ({label: t.label, mode: t.mode})),
        fullscreen: !!document.fullscreenElement,
    };
}"""


async def video(page: Page) -> dict[str, Any]:
    state: dict[str, Any] | None = await page.evaluate(VIDEO_STATE)
    assert state is not None, "no <video> on the page"
    return state


async def until_video(page: Page, condition: str, what: str, seconds: float = 20) -> None:
    """Wait until ``condition`` (JavaScript over ``v``, the <video>) holds."""
    try:
        await page.wait_for_function(
            f"() => {{ const v = document.querySelector('video'); return !!v && ({condition}); }}",
            timeout=seconds * 1000,
            polling=100,
        )
    except Exception as exc:
        state = await page.evaluate(VIDEO_STATE)
        raise AssertionError(f"waited {seconds} s for {what}; the video: {state}") from exc
