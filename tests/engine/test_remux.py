"""Remux segments made alone and out of order reassemble into the source, packet for packet."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import av
import pytest

from engine.errors import CorruptSource
from engine.segmenter.remux import init_segment, remux_segment
from ingest.demo import synthesize_clip
from ingest.models import FileRole
from ingest.probe import probe_media

SECONDS = 20
FPS = 25


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("remux") / "source.mp4"
    return synthesize_clip(path, seconds=SECONDS, width=320, height=240, fps=FPS, gop=2 * FPS)


def _boundaries(source: Path) -> tuple[Fraction, list[int]]:
    """Every other keyframe (4 s segments) and the stream end, from the real keyframe index."""
    result = probe_media(source, name=source.name, role=FileRole.VIDEO, size=source.stat().st_size)
    index = result.keyframes
    assert index is not None
    return index.time_base, [*index.pts[::2], index.pts[0] + index.duration]


def _packets(path: Path, stream: int) -> list[tuple[int, int, bool, bytes]]:
    with av.open(str(path)) as container:
        return [
            (p.pts, p.dts, p.is_keyframe, bytes(p))
            for p in container.demux(container.streams[stream])
            if p.size
        ]


@pytest.mark.parametrize("stream", [0, 1], ids=["video", "audio"])
def test_segments_out_of_order_reassemble_into_the_source(
    source: Path, tmp_path: Path, stream: int
) -> None:
    time_base, bounds = _boundaries(source)
    order = list(range(len(bounds) - 1))
    random.Random(7).shuffle(order)
    made = {
        n: remux_segment(
            source,
            stream,
            start=None if n == 0 else bounds[n],
            end=bounds[n + 1],
            time_base=time_base,
        )
        for n in order
    }
    init = init_segment(source, stream)
    assembled = tmp_path / "assembled.mp4"
    assembled.write_bytes(init + b"".join(made[n].data for n in sorted(made)))
    ours, theirs = _packets(assembled, 0), _packets(source, stream)
    # every packet of the source, once, in order, byte-identical ...
    assert [p[2:] for p in ours] == [p[2:] for p in theirs]
    # ... with its timestamps moved by one constant: none for audio, the B-frame delay for video
    shifts = {(a[0] - b[0], a[1] - b[1]) for a, b in zip(ours, theirs, strict=True)}
    assert len(shifts) == 1
    ((shift, _),) = shifts
    assert shift == (0 if stream == 1 else -theirs[0][1])
    if stream == 0:
        assert all(made[n].first_pts == bounds[n] for n in made)  # each starts on its keyframe
        with av.open(str(assembled)) as container:
            frames = [f.pts for f in container.decode(video=0)]
        assert len(frames) == SECONDS * FPS
        assert frames == sorted(frames)


def test_the_init_segment_is_the_same_for_every_segment(source: Path) -> None:
    time_base, bounds = _boundaries(source)
    init = init_segment(source, 0)
    assert init[4:8] == b"ftyp" and b"moov" in init and b"moof" not in init
    for n in (2, 0):
        segment = remux_segment(source, 0, start=bounds[n], end=bounds[n + 1], time_base=time_base)
        assert segment.data[4:8] == b"moof"
        assert b"ftyp" not in segment.data[:64]


def test_mpegts_segments_decode_on_their_own(source: Path, tmp_path: Path) -> None:
    time_base, bounds = _boundaries(source)
    segment = remux_segment(
        source, 0, start=bounds[1], end=bounds[2], time_base=time_base, container="mpegts"
    )
    path = tmp_path / "one.ts"
    path.write_bytes(segment.data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 4 * FPS
    assert frames[0].key_frame


def test_a_source_that_is_not_media_is_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(CorruptSource):
        remux_segment(bad, 0, start=0, end=1000, time_base=Fraction(1, 1000))
    real = synthesize_clip(tmp_path / "real.mp4", seconds=1.0, width=160, height=120)
    with pytest.raises(CorruptSource, match="no stream 9"):
        init_segment(real, 9)
