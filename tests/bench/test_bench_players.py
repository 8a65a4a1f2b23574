"""The many-player scenarios in their tiny configuration (``--quick``), and ``python -m bench all``
writing its report from them: each scenario against a real ``reelbox serve`` process, over a
generated library, with real players. A check that every field is measured and real (segments
fetched, no errors, the server's RSS read), not of the figures themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.services import require_ffmpeg

NEW = ("players", "soak", "memory")


def _bench(cache: Path, *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        env={**os.environ, "REELBOX_BENCH_CACHE": str(cache)},  # the library is made here
        capture_output=True,
        text=True,
        timeout=600,  # a loaded 2-core machine: each scenario starts several servers
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)  # stdout carries the JSON only
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``all --quick`` for players and memory, a shortened soak beside them, then the report
    rendered from the three (``--reuse``)."""
    require_ffmpeg()
    cache = tmp_path_factory.mktemp("bench-cache")
    out = tmp_path_factory.mktemp("bench-report")
    _bench(cache, "all", "--quick", "--out", str(out), "--only", "players,memory")
    soak = _bench(cache, "soak", "--quick", "--seconds", "8", "--players", "3")
    (out / "soak.json").write_text(json.dumps(soak), encoding="utf-8")
    document = _bench(cache, "all", "--out", str(out), "--reuse", "--only", ",".join(NEW))
    assert set(document["scenarios"]) == set(NEW)
    return out


def _result(report: Path, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((report / "results.json").read_text())["scenarios"][name]
    assert result["scenario"] == name, result.get("error")
    assert result["machine"]["cpu_cores"] >= 1
    assert result["machine"]["pyav"]
    return result


def _real_step(step: dict[str, Any]) -> None:
    assert step["segments"] > 0 and step["mbytes"] > 0
    assert step["errors"] == 0, step["error_kinds"]
    assert step["players_started"] == step["players"] == step["n"]
    assert 0 < step["segment_p50_ms"] <= step["segment_p99_ms"]
    assert step["start_p50_ms"] > 0
    assert step["server_rss_mib_max"] > 50  # a Python server with PyAV loaded
    assert step["server_cpu_pct"] >= 0 and step["loadgen_cpu_pct"] >= 0
    assert 0 <= step["cache_hit_rate"] <= 1
    assert isinstance(step["stall_free"], bool)


@pytest.mark.slow
def test_players_ramp_measures_remux_and_transcode_against_ffmpeg(report: Path) -> None:
    result = _result(report, "players")
    [remux] = result["remux"]["steps"]
    _real_step(remux)
    assert remux["methods"] == {"direct_play": remux["n"]}
    [transcode] = result["transcode"]["steps"]
    _real_step(transcode)
    assert transcode["methods"] == {"transcode": 1}
    [ffmpeg] = result["transcode"]["ffmpeg_cli_steps"]
    assert ffmpeg["n"] == 1 and ffmpeg["min_speed"] > 0  # ffmpeg really produced media
    assert result["transcode"]["rung"]["height"] == 360
    for ramp in ("remux", "transcode"):
        assert result[ramp]["largest_stall_free"] in (0, 1, 2)
    assert result["library"]["titles"] == 4
    assert isinstance(result["targets"]["remux_players_without_stall"]["met"], bool)


@pytest.mark.slow
def test_soak_watches_the_server_over_time(report: Path) -> None:
    result = _result(report, "soak")
    _real_step(result)
    assert result["rss_mib_end"] > 0 and result["rss_mib_after_first_minute"] > 0
    assert result["fds"]["end"] > 0 and result["threads"]["end"] > 0
    assert result["sessions"]["after"] == 0  # every player's DELETE ended its session
    assert len(result["timeline"]) >= 5
    assert {"t", "cpu_pct", "rss_mib", "threads", "fds"} <= set(result["timeline"][0])
    assert result["checks"]["no_errors"] and result["checks"]["no_session_left"]
    assert isinstance(result["passed"], bool)


@pytest.mark.slow
def test_memory_per_session(report: Path) -> None:
    result = _result(report, "memory")
    assert result["idle_rss_mib"] > 50
    for kind, method in (("direct_stream", "direct_play"), ("transcode", "transcode")):
        group = result[kind]
        assert group["segments"] > 0 and group["errors"] == 0, group
        assert group["methods"] == {method: group["sessions"]}
        assert group["peak_rss_mib"] > group["idle_rss_mib"] > 0


@pytest.mark.slow
def test_all_writes_results_report_and_plots(report: Path) -> None:
    text = (report / "report.md").read_text()
    for name in NEW:
        assert f"## {name}" in text
        assert (report / f"{name}.json").exists()
    for plot in ("latency_vs_sessions.png", "soak.png"):
        assert (report / plot).read_bytes().startswith(b"\x89PNG")
        assert f"]({plot})" in text
    assert "Largest N without a stall or error" in text
