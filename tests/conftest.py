from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.media",
    "tests.fixtures.catalog",
    "tests.fixtures.oidc",
]


@pytest.fixture
def anyio_backend() -> str:
    """Ingest and web run on asyncio (aioboto3, asyncpg); engine tests add trio themselves."""
    return "asyncio"
