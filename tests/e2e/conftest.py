"""Fixtures of the end-to-end tests: the generated library (once per session), a Reelbox serving
it and the built web client on loopback (one per test, so each test starts with fresh user
data), and a page of Debian's Chromium.

Chromium resolves no host but loopback (the flags of tests/web/test_browser.py), plus
``reelbox.test``, mapped to the server's port: the OIDC test provider only sends browsers back to
``http://reelbox.test/...`` (tests/fixtures/oidc.py), so the OIDC login test opens the app there.
Screenshots go to ``$REELBOX_ARTIFACTS`` or ``tests/e2e/artifacts`` (git ignores it), one folder
per test.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from ingest.catalog.database import open_database
from tests.e2e.reelbox import CLIENT_DIST, Reelbox, serve_reelbox, write_library
from tests.fixtures.oidc import APP_ORIGIN, OidcTestProvider
from tests.fixtures.services import service_missing
from tests.web.test_browser import CHROMIUM, FLAGS

ARTIFACTS = Path(os.environ.get("REELBOX_ARTIFACTS") or Path(__file__).parent / "artifacts")
HOST_RULES = "--host-resolver-rules="
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def e2e_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_library(tmp_path_factory.mktemp("e2e-media"))


@pytest.fixture
async def reelbox(
    sqlite_catalog_url: str, e2e_media: Path, tmp_path: Path, oidc_provider: OidcTestProvider
) -> AsyncIterator[Reelbox]:
    if not (CLIENT_DIST / "index.html").is_file():
        service_missing("the web client", f"{CLIENT_DIST} is not built: make client")
    database = open_database(sqlite_catalog_url)
    try:
        async with serve_reelbox(database, e2e_media, tmp_path / "images", oidc_provider) as app:
            yield app
    finally:
        await database.dispose()


@pytest.fixture
async def browser(reelbox: Reelbox) -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        service_missing("Chromium", f"{CHROMIUM} is missing: bash tests/ensure-system.sh chromium")
    # reelbox.test is the server too; every other host but loopback still resolves to nothing.
    mapping = f"MAP {urlsplit(APP_ORIGIN).hostname} 127.0.0.1:{urlsplit(reelbox.url).port}, "
    args = [
        f"{HOST_RULES}{mapping}{flag.removeprefix(HOST_RULES)}"
        if flag.startswith(HOST_RULES)
        else flag
        for flag in FLAGS
    ]
    assert any(mapping in arg for arg in args), FLAGS
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(viewport=VIEWPORT, locale="en-GB")  # type: ignore[arg-type]
    made.set_default_timeout(20_000)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab; uncaught errors in it fail the test."""
    tab = await context.new_page()
    failures: list[str] = []
    tab.on("pageerror", lambda error: failures.append(str(error)))
    yield tab
    assert not failures, f"uncaught errors in the page: {failures}"
