"""The demuxer pool: a borrowed demuxer cuts the same bytes as a fresh one, in any order; a file
changed in place is opened afresh; a failed use is not lent again."""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path

import pytest

from engine.errors import CorruptSource
from engine.segmenter import demuxers
from engine.segmenter.demuxers import DemuxerPool
from engine.segmenter.remux import init_segment, open_source, remux_segment
from engine.segmenter.renditions import RenditionKind
from ingest.demo import synthesize_clip
from tests.fixtures.media import plan_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demuxers") / "clip.mp4"
    return synthesize_clip(path, seconds=12, width=160, height=96, fps=25, gop=25)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_pooled_segments_equal_fresh_ones_in_any_order(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first segment included: a reused demuxer goes back before the first sample."""
    clip = synthesize_clip(
        tmp_path / f"clip{suffix}", seconds=8, width=160, height=96, fps=25, gop=25
    )
    plan = plan_clip(clip, target=Fraction(2))
    # Known gap: ADTS AAC (MPEG-TS audio) is not remuxed into MP4 yet (it needs the
    # aac_adtstoasc conversion), so a TS source's audio is left out here.
    jobs = [
        plan.job(r.id, n)
        for r in plan.renditions
        if r.is_remux and (suffix != ".ts" or r.kind is RenditionKind.VIDEO)
        for n in range(plan.segment_count)
    ]
    random.Random(5).shuffle(jobs)

    def cut(job_index: int) -> bytes:
        job = jobs[job_index]
        return remux_segment(
            str(clip),
            job.rendition.source_index,
            start=job.seek,
            end=job.stop,
            time_base=job.time_base,
            offset=job.offset,
        ).data

    pool = DemuxerPool()
    monkeypatch.setattr(demuxers, "shared", pool)
    pooled = [cut(i) for i in range(len(jobs))]
    if suffix == ".ts":  # MPEG-TS seeks by scanning: never pooled
        assert pool.statistics().reused == 0
    else:
        assert pool.statistics().opened == 1 and pool.statistics().reused == len(jobs) - 1
    monkeypatch.setattr(demuxers, "shared", DemuxerPool(max_idle=0))  # nothing kept: fresh
    assert [cut(i) for i in range(len(jobs))] == pooled
    if suffix == ".mp4":
        with clip.open("rb") as reader:
            assert init_segment(str(clip), 0) == init_segment(reader, 0)


def test_a_changed_file_gets_a_fresh_demuxer(clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(clip.read_bytes())
    pool = DemuxerPool()
    with pool.borrow(str(copy)) as first:
        assert not first.reused
    with pool.borrow(str(copy)) as again:
        assert again.container is first.container and again.reused
    os.utime(copy, ns=(1, 1))  # replaced in place (a new version of the film)
    with pool.borrow(str(copy)) as fresh:
        assert fresh.container is not first.container and not fresh.reused
    stats = pool.statistics()
    assert (stats.opened, stats.reused, stats.idle, stats.discarded) == (2, 1, 1, 1)


def test_a_failed_use_closes_the_demuxer_and_a_missing_file_is_corrupt(
    clip: Path, tmp_path: Path
) -> None:
    pool = DemuxerPool()
    with pytest.raises(RuntimeError), pool.borrow(str(clip)):
        raise RuntimeError("the muxer failed")
    assert pool.statistics().idle == 0 and pool.statistics().discarded == 1
    with pytest.raises(CorruptSource, match="cannot open"), pool.borrow(str(tmp_path / "x.mp4")):
        pass
    with open_source(clip):
        pass
    pool.close()
