"""The segmenter end to end, without a server: the planner's boundaries, remuxed segments made
out of order, and the media playlist, played by Debian's ffmpeg (a real HLS client)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from engine.segmenter.planner import plan_boundaries, plan_segment, segment_count
from engine.segmenter.playlists import hls_media
from engine.segmenter.remux import init_segment, remux_segment, stream_delay
from ingest.demo import synthesize_clip
from ingest.models import FileRole
from ingest.probe import probe_media
from tests.fixtures.services import ffmpeg_frames

SECONDS = 30
FPS = 25


@pytest.mark.parametrize("container", ["cmaf", "mpegts"])
def test_ffmpeg_plays_the_playlist_of_out_of_order_segments(tmp_path: Path, container: str) -> None:
    source = synthesize_clip(
        tmp_path / "source.mp4", seconds=SECONDS, width=320, height=240, fps=FPS, gop=2 * FPS
    )
    probed = probe_media(source, name=source.name, role=FileRole.VIDEO, size=source.stat().st_size)
    assert probed.keyframes is not None
    tb = probed.keyframes.time_base
    boundaries = plan_boundaries(probed.keyframes, target=Fraction(6), first_target=Fraction(2))
    count = segment_count(boundaries)
    assert count >= 5
    out = tmp_path / "hls"
    out.mkdir()
    suffix = "m4s" if container == "cmaf" else "ts"
    order = list(range(count))
    random.Random(3).shuffle(order)
    delay = stream_delay(source, 0)
    assert delay > 0  # the clip has B-frames: its first decode time is negative
    for n in order:
        plan = plan_segment(boundaries, n, time_base=tb)
        segment = remux_segment(
            source,
            0,
            start=plan.seek,
            end=plan.stop,
            time_base=tb,
            container="cmaf" if container == "cmaf" else "mpegts",
            offset=delay,
        )
        (out / f"{n}.{suffix}").write_bytes(segment.data)
    init = None
    if container == "cmaf":
        (out / "init.mp4").write_bytes(init_segment(source, 0))
        init = "init.mp4"
    playlist = hls_media(
        boundaries, time_base=tb, segment_uri=lambda n: f"{n}.{suffix}", init_uri=init
    )
    (out / "index.m3u8").write_text(playlist)

    frames = ffmpeg_frames(out / "index.m3u8", "v", "-allowed_extensions", "ALL")
    assert len(frames) == SECONDS * FPS
    # the same pictures as the source, frame for frame
    reference = ffmpeg_frames(source)
    assert [f.split(",")[-1] for f in frames] == [r.split(",")[-1] for r in reference]
    # and the stream lasts what the source lasts, within one frame
    ffprobe = shutil.which("ffprobe") or "ffprobe"
    shown = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-allowed_extensions",
            "ALL",
            "-show_entries",
            "format=duration",
            "-of",
            "json",
            str(out / "index.m3u8"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    duration = float(json.loads(shown.stdout)["format"]["duration"])
    assert abs(duration - SECONDS) <= 1 / FPS + 0.1
