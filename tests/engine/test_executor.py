"""The executor carries out plan jobs: remux and transcode, init and media segments."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from engine.errors import NotFound
from engine.segmenter.executor import produce
from engine.segmenter.renditions import RenditionKind
from engine.sessions.plan import PlaybackPlan
from ingest.demo import synthesize_clip
from tests.fixtures.media import plan_clip
from tests.fixtures.services import ffmpeg_frames

FPS = 25


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlaybackPlan]:
    clip = synthesize_clip(
        tmp_path_factory.mktemp("executor") / "clip.mp4",
        seconds=6,
        width=640,
        height=480,
        fps=FPS,
        gop=2 * FPS,
    )
    plan = plan_clip(clip, target=Fraction(2))
    return clip, plan


@pytest.mark.parametrize("transcoded", [False, True], ids=["remux", "transcode"])
def test_every_video_rendition_plays(
    setup: tuple[Path, PlaybackPlan], tmp_path: Path, transcoded: bool
) -> None:
    clip, plan = setup
    rendition = next(
        r for r in plan.renditions if r.kind is RenditionKind.VIDEO and r.is_remux is not transcoded
    )
    parts = [produce(plan.job(rendition.id, None), clip)]
    parts += [produce(plan.job(rendition.id, n), clip) for n in range(plan.segment_count)]
    path = tmp_path / f"{rendition.id}.mp4"
    path.write_bytes(b"".join(parts))
    frames = ffmpeg_frames(path)
    assert len(frames) == 6 * FPS
    width = int(frames[0].split(",")[4]) // 3 * 2  # yuv420p: width * height * 3 / 2 bytes
    assert width == (rendition.width or 0) * (rendition.height or 0)


def test_audio_and_errors(setup: tuple[Path, PlaybackPlan], tmp_path: Path) -> None:
    clip, plan = setup
    audio = next(r for r in plan.renditions if r.kind is RenditionKind.AUDIO)
    parts = [produce(plan.job(audio.id, None), clip)]
    parts += [produce(plan.job(audio.id, n), clip) for n in range(plan.segment_count)]
    path = tmp_path / "audio.mp4"
    path.write_bytes(b"".join(parts))
    assert ffmpeg_frames(path, "a")
    with pytest.raises(NotFound):
        produce(plan.job(audio.id, plan.segment_count), clip)


def test_subtitle_jobs_are_webvtt_segments(tmp_path: Path) -> None:
    clip = synthesize_clip(
        tmp_path / "subs.mkv", seconds=8, width=64, height=48, fps=FPS, gop=FPS, subtitles=True
    )
    plan = plan_clip(clip, target=Fraction(2))
    subtitles = next(r for r in plan.renditions if r.kind is RenditionKind.SUBTITLE)
    job = plan.job(subtitles.id, 0, "webvtt")
    assert job.container == "webvtt" and job.offset_seconds == plan.presentation_offset
    bodies = [produce(plan.job(subtitles.id, n, "webvtt"), clip) for n in range(plan.segment_count)]
    assert all(body.startswith(b"WEBVTT\n") for body in bodies)
    assert all(f"Cue {n}".encode() in b"".join(bodies) for n in (1, 2, 3))
    with pytest.raises(NotFound):
        plan.job(subtitles.id, None, "webvtt")  # WebVTT has no init segment
    with pytest.raises(NotFound, match="served as webvtt"):
        plan.job(subtitles.id, 0)  # a .m4s request for a subtitle rendition
    video = plan.renditions[0].id
    with pytest.raises(NotFound, match="served as cmaf or mpegts"):
        plan.job(video, 0, "webvtt")
