"""``python -m bench api --quick``: the browse API under load on both databases, every field
measured against a real ``reelbox serve``. A check of the harness, not of the timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.api import GENRES, films
from tests.fixtures.services import POSTGRES_URL, service_missing, tcp_answers


def test_the_generated_films_spread_over_genres_years_and_ratings() -> None:
    made = list(films(2000))
    assert len({f.title for f in made}) == 2000
    assert {g for f in made for g in f.genres} == set(GENRES)
    assert all(1 <= len(f.genres) <= 3 and f.year and 1950 <= f.year <= 2025 for f in made)
    assert len({f.official_rating for f in made}) == 5
    assert list(films(50)) == made[:50]  # the same library every run


@pytest.mark.slow
def test_quick_api_bench_reports_every_field() -> None:
    if not tcp_answers(POSTGRES_URL, 5432):
        service_missing("PostgreSQL", POSTGRES_URL)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "api", "--quick", "--json"],
        env={**os.environ, "REELBOX_TEST_DATABASE_URL": POSTGRES_URL},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # stdout carries the JSON only

    assert result["scenario"] == "api" and result["items"] == 400
    assert set(result["results"]) == {"sqlite", "postgresql"}
    for database, found in result["results"].items():
        [run] = found["runs"]  # --quick: one rate
        for endpoint in ("page", "detail"):
            timings = run[endpoint]
            assert timings["requests"] == 100 and timings["errors"] == 0, (database, timings)
            assert 0 < timings["p50_ms"] <= timings["p99_ms"] <= timings["max_ms"], timings
            assert timings["rps"] > 0
        assert found["idle_rss_mb"] > 50 and run["rss_mb"] > 50, found
        assert run["server_cpu_share"] > 0
        # 100 pages drawn from the 20 genres x 8 sorts x their first pages: some repeat
        assert run["cache_hit_rate"] is not None and 0 < run["cache_hit_rate"] < 1
        assert found["best_rate_meeting_p99"] in (None, run["rate"])
    assert isinstance(result["targets_met"], bool)
