"""``python -m bench stream --quick``: every field measured, on both sides, against a real server
and a real ffmpeg. A correctness check of the harness, not of the timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import stream
from tests.fixtures.services import require_ffmpeg


@pytest.mark.slow
def test_quick_stream_bench_reports_every_field(tmp_path: Path) -> None:
    require_ffmpeg()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "stream", "--quick", "--json"],
        env={**os.environ, "REELBOX_BENCH_CACHE": str(tmp_path)},  # the clip is made here
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # stdout carries the JSON only

    assert result["scenario"] == "stream"
    for name in stream.TARGETS:
        field = result[name]
        assert set(field) == {"reelbox", "baseline", "ratio"}, name
        assert all(field[side] > 0 for side in field), (name, field)
        assert isinstance(result["targets"][name]["met"], bool)
    for name in ("remux_start_ms", "remux_seek_ms", "transcode_start_ms", "transcode_seek_ms"):
        reelbox, baseline = (
            result["breakdown_ms"][name]["reelbox"],
            result["breakdown_ms"][name]["baseline"],
        )
        assert {"session", "playlist", "init", "segment"} <= set(reelbox), name
        assert {"playlist", "init", "segment"} <= set(baseline), name
        assert all(ms > 0 for ms in [*reelbox.values(), *baseline.values()]), name
    settings = result["settings"]
    assert settings["reelbox_decisions"] == {"remux": "direct_play", "transcode": "transcode"}
    # the same frames on both sides of transcode_fps
    assert settings["fps_frames"]["reelbox"] == settings["fps_frames"]["baseline"] > 0
    # the baseline's transcode seek went past Jellyfin's 24 s: ffmpeg was killed and restarted
    # (its remux of a small clip may be over by then, and the segment served from its file)
    assert settings["baseline_ffmpeg_starts"]["transcode_seek"] == 1
    assert result["clip"]["height"] == stream.QUICK.height
    assert result["machine"]["cpu_cores"] >= 1
