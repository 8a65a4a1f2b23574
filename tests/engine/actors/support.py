"""Helpers shared by the actor tests."""

from __future__ import annotations

import pytest

# Exact durations need virtual time, which only trio's MockClock gives (see conftest.py).
trio_only = pytest.mark.parametrize("anyio_backend", ["trio"], indirect=True)
