"""Async engine tests run on asyncio and on trio; on trio with a mock clock, so timeouts, backoff
and idle eviction take virtual time. Tests that assert exact durations are marked ``trio_only``
(``tests.engine.actors.support``)."""

from __future__ import annotations

from typing import Any

import pytest
from trio.testing import MockClock


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str | tuple[str, dict[str, Any]]:
    if request.param == "trio":
        # A fresh clock per test: autojump_threshold=0 jumps to the next deadline as soon as
        # every task is blocked, so sleeping 60 s costs nothing.
        return ("trio", {"clock": MockClock(autojump_threshold=0)})
    return "asyncio"
