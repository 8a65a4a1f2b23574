"""The playback plan: jobs that are complete in themselves, and one presentation offset that
keeps separately muxed video and audio in sync."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import pytest

from engine.errors import NotFound
from engine.segmenter.executor import produce
from engine.segmenter.remux import remux_segment, stream_delay
from engine.segmenter.renditions import RenditionKind
from engine.sessions.plan import PlaybackPlan
from ingest.demo import synthesize_clip
from tests.fixtures.media import plan_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "clip.mp4"
    return synthesize_clip(path, seconds=12, width=320, height=240, fps=25, gop=50)


@pytest.fixture(scope="module")
def plan(clip: Path) -> PlaybackPlan:
    return plan_clip(clip, target=Fraction(4))


def _remux_id(plan: PlaybackPlan, kind: RenditionKind) -> str:
    return next(r.id for r in plan.renditions if r.kind is kind and r.is_remux)


def test_jobs_keys_and_errors(plan: PlaybackPlan) -> None:
    video = _remux_id(plan, RenditionKind.VIDEO)
    first, last = plan.job(video, 0), plan.job(video, plan.segment_count - 1)
    assert (first.seek, last.stop) == (None, None)  # from the start, to the end
    assert first.stop == plan.boundaries[1] and last.seek == plan.boundaries[-2]
    assert plan.key(plan.job(video, None)) == plan.key(plan.job(video, None))
    assert str(plan.key(plan.job(video, 2, "mpegts"))) == f"v1/{video}/2.mpegts"
    with pytest.raises(NotFound):
        plan.job("nope", 0)
    with pytest.raises(NotFound):
        plan.job(video, plan.segment_count)
    with pytest.raises(NotFound, match="no init"):
        plan.job(video, None, "mpegts")
    with pytest.raises(NotFound):
        plan.job(video, 0, "avi")


def _first_presentation(fragment: bytes) -> tuple[int, int]:
    """(tfdt, composition offset of the first sample) of a CMAF fragment: what a player (hls.js,
    Safari, ExoPlayer) reads to place the fragment's first sample in time."""
    moof = _child(fragment, 0, len(fragment), b"moof")
    traf = _child(fragment, moof + 8, moof + _size(fragment, moof), b"traf")
    traf_end = traf + _size(fragment, traf)
    tfdt = _child(fragment, traf + 8, traf_end, b"tfdt")
    version = fragment[tfdt + 8]
    width = 8 if version == 1 else 4
    decode_time = int.from_bytes(fragment[tfdt + 12 : tfdt + 12 + width], "big")
    trun = _child(fragment, traf + 8, traf_end, b"trun")
    flags = int.from_bytes(fragment[trun + 9 : trun + 12], "big")
    pos = trun + 16 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    pos += sum(4 for bit in (0x100, 0x200, 0x400) if flags & bit)
    cts = 0
    if flags & 0x800:
        cts = int.from_bytes(fragment[pos : pos + 4], "big", signed=fragment[trun + 8] == 1)
    return decode_time, cts


def _size(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "big")


def _child(data: bytes, start: int, end: int, kind: bytes) -> int:
    pos = start
    while pos + 8 <= end:
        if data[pos + 4 : pos + 8] == kind:
            return pos
        pos += _size(data, pos)
    raise AssertionError(f"no {kind!r} box")


def test_one_presentation_offset_keeps_video_and_audio_in_sync(
    plan: PlaybackPlan, clip: Path
) -> None:
    """Source time 0 (the first frame shown, the first audio sample after the encoder priming)
    is presented at the same instant in both renditions, although the two streams start
    decoding before zero by different amounts."""
    video, audio = _remux_id(plan, RenditionKind.VIDEO), _remux_id(plan, RenditionKind.AUDIO)
    clocks = [plan.clocks[plan.rendition(r).source_index] for r in (video, audio)]
    assert clocks[0].delay * clocks[0].time_base != clocks[1].delay * clocks[1].time_base
    zero: list[Fraction] = []
    for rendition_id, clock in zip((video, audio), clocks, strict=True):
        job = plan.job(rendition_id, 0)
        fragment = remux_segment(
            clip,
            job.rendition.source_index,
            start=job.seek,
            end=job.stop,
            time_base=job.time_base,
            offset=job.offset,
        ).data
        decode_time, cts = _first_presentation(fragment)
        # video: the first sample is the first frame shown (source time 0); audio: the first
        # sample is the priming, source time 0 comes ``delay`` samples later
        first = decode_time + cts + (clock.delay if rendition_id == audio else 0)
        zero.append(first * clock.time_base)
    assert zero[0] == zero[1] == plan.presentation_offset > 0


def test_the_offset_covers_the_encoders_delay_for_mpegts(tmp_path: Path) -> None:
    """A source without B-frames starts at decode time 0, but the ladder's encoder (with
    B-frames) starts before zero: the one offset covers both, so a transcoded MPEG-TS video
    rendition (no negative times there) still starts with its audio."""
    clip = synthesize_clip(
        tmp_path / "camera.mp4", seconds=6, width=640, height=480, gop=50, preset="ultrafast"
    )
    plan = plan_clip(clip, target=Fraction(4))
    [ladder] = [r for r in plan.renditions if r.kind is RenditionKind.VIDEO and not r.is_remux]
    audio = plan.rendition(_remux_id(plan, RenditionKind.AUDIO))
    assert stream_delay(clip, ladder.source_index) == 0
    assert plan.presentation_offset > 0
    starts = []
    for rendition in (ladder, audio):
        job = plan.job(rendition.id, 0, "mpegts")
        with av.open(io.BytesIO(produce(job, clip))) as ts:
            stream = ts.streams[0]
            first = min(p.pts for p in ts.demux(stream) if p.pts is not None)
            clock = plan.clocks[rendition.source_index]
            priming = clock.delay * clock.time_base if rendition is audio else 0
            starts.append(first * stream.time_base + priming)
    assert abs(starts[0] - plan.presentation_offset) <= Fraction(1, 90000)
    assert abs(starts[1] - plan.presentation_offset) <= Fraction(1, 90000) * 2
