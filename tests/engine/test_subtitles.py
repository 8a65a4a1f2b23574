"""WebVTT segments from real subtitle streams: mov_text in MP4, SubRip in Matroska."""

from __future__ import annotations

import re
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import pytest

from engine.errors import NotFound
from engine.segmenter.subtitles import subtitle_segment
from ingest.demo import synthesize_clip

SECONDS = 8  # cues at 0, 2 and 4 s, one second each
CUES = {"Cue 1": (0, 1000), "Cue 2": (2000, 3000), "Cue 3": (4000, 5000)}
TIME_BASE = Fraction(1, 12800)  # the boundaries', as a video stream's
_CUE = re.compile(r"(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\n(.+)\n")


def _ms(h: str, m: str, s: str, ms: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def parse(body: bytes) -> dict[str, tuple[int, int]]:
    text = body.decode()
    assert text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n")
    return {m[9]: (_ms(*m.groups()[0:4]), _ms(*m.groups()[4:8])) for m in _CUE.finditer(text)}


@pytest.fixture(scope="module", params=["mp4", "mkv"])
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("subs") / f"clip.{request.param}"
    return synthesize_clip(path, seconds=SECONDS, width=64, height=48, subtitles=True)


def _subtitle_index(path: Path) -> int:
    with av.open(str(path)) as container:
        return next(s.index for s in container.streams if s.type == "subtitle")


@pytest.mark.parametrize("offset_ms", [0, 100])
def test_every_cue_lands_in_each_segment_it_overlaps(clip: Path, offset_ms: int) -> None:
    bounds_ms = [None, 1500, 2500, 4500, 6000, None]  # cue 2 and cue 3 straddle boundaries
    index = _subtitle_index(clip)
    offset = Fraction(offset_ms, 1000)
    found: list[dict[str, tuple[int, int]]] = []
    for lo, hi in pairwise(bounds_ms):
        body = subtitle_segment(
            clip,
            index,
            start=None if lo is None else lo * 128 // 10,
            end=None if hi is None else hi * 128 // 10,
            time_base=TIME_BASE,
            offset_s=offset,
        )
        found.append(parse(body))
    shifted = {text: (a + offset_ms, b + offset_ms) for text, (a, b) in CUES.items()}
    assert found == [
        {"Cue 1": shifted["Cue 1"]},
        {"Cue 2": shifted["Cue 2"]},
        {"Cue 2": shifted["Cue 2"], "Cue 3": shifted["Cue 3"]},
        {"Cue 3": shifted["Cue 3"]},
        {},
    ]


def test_the_whole_stream_in_one_segment(clip: Path) -> None:
    body = subtitle_segment(
        clip, _subtitle_index(clip), start=None, end=None, time_base=TIME_BASE, offset_s=Fraction(0)
    )
    assert parse(body) == CUES


def test_a_stream_that_is_not_subtitles_is_not_found(clip: Path) -> None:
    with pytest.raises(NotFound):
        subtitle_segment(clip, 0, start=None, end=None, time_base=TIME_BASE, offset_s=Fraction(0))
