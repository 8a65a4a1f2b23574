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
from ingest.demo import synthesize_clip
from tests.fixtures.media import plan_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demuxers") / "clip.mp4"
    return synthesize_clip(path, seconds=12, width=160, height=96, fps=25, gop=25)


def test_pooled_segments_equal_fresh_ones_in_any_order(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_clip(clip, target=Fraction(2))
    jobs = [
        plan.job(r.id, n)
        for r in plan.renditions
        if r.is_remux
        for n in range(1, plan.segment_count)
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
    assert pool.statistics().opened == 1 and pool.statistics().reused == len(jobs) - 1
    monkeypatch.setattr(demuxers, "shared", DemuxerPool(max_idle=0))  # nothing kept: fresh
    assert [cut(i) for i in range(len(jobs))] == pooled
    with clip.open("rb") as reader:
        assert init_segment(str(clip), 0) == init_segment(reader, 0)


def test_a_changed_file_gets_a_fresh_demuxer(clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(clip.read_bytes())
    pool = DemuxerPool()
    with pool.borrow(str(copy)) as first:
        pass
    with pool.borrow(str(copy)) as again:
        assert again is first
    os.utime(copy, ns=(1, 1))  # replaced in place (a new version of the film)
    with pool.borrow(str(copy)) as fresh:
        assert fresh is not first
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
