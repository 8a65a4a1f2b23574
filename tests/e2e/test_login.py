"""Signing in to the web client served by Reelbox: with a password, and through the OpenID
Connect provider (oidc-provider on loopback), each ending on the home screen with a session
that survives a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.pages import home_shown, shot, sign_in
from tests.e2e.reelbox import OIDC_DISPLAY_NAME, PLAYABLE, Reelbox
from tests.fixtures.oidc import APP_ORIGIN

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_password_login(page: Page, reelbox: Reelbox, artifacts: Path) -> None:
    await page.goto(f"{reelbox.url}/")
    await expect(page).to_have_url(f"{reelbox.url}/login")
    # The server address defaults to the page's own origin.
    await expect(page.get_by_label("Server address", exact=True)).to_have_value(reelbox.url)
    await page.get_by_label("Username", exact=True).fill(reelbox.username)
    await page.get_by_label("Password", exact=True).fill("not the password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await shot(page, artifacts, "login-refused")

    await sign_in(page, reelbox)
    await expect(page.get_by_role("link", name=f"{PLAYABLE.title},").first).to_be_visible()
    await shot(page, artifacts, "home")

    await page.reload()  # the session is kept (localStorage)
    await home_shown(page, reelbox.url)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{reelbox.url}/login")
    await page.reload()
    await expect(page).to_have_url(f"{reelbox.url}/login")


async def test_oidc_login(page: Page, reelbox: Reelbox, artifacts: Path) -> None:
    """The app at the origin the provider sends browsers back to: a full-page redirect to the
    provider, its login and consent forms, the callback, and back to /login with the tokens in
    the fragment. The new user sees no library until an admin grants one."""
    await page.goto(f"{APP_ORIGIN}/")
    await expect(page).to_have_url(f"{APP_ORIGIN}/login")
    button = page.get_by_role("button", name=f"Sign in with {OIDC_DISPLAY_NAME}")
    await expect(button).to_be_visible()
    await shot(page, artifacts, "login")
    await button.click()

    # oidc-provider's development interactions: a login form (any password), then consent.
    await page.locator("input[name=login]").fill("alice")
    await page.locator("input[name=password]").fill("any")
    await page.locator("button[type=submit]").click()
    await page.locator("button[type=submit]").click()

    await home_shown(page, APP_ORIGIN)
    assert "access_token" not in page.url  # the fragment is read and dropped
    await expect(page.get_by_text("Nothing here yet")).to_be_visible()
    await shot(page, artifacts, "home-oidc-user")
    await page.reload()
    await home_shown(page, APP_ORIGIN)
