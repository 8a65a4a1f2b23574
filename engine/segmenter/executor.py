"""Carries out one ``SegmentJob``: remux or transcode, init or media segment. Runs in a worker
thread (``SegmentWorkers``); decides nothing the plan did not already decide."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from engine.errors import NotFound
from engine.segmenter.remux import Container, Segment, Source, init_segment, remux_segment
from engine.segmenter.renditions import AudioEncoding, VideoEncoding
from engine.segmenter.subtitles import subtitle_segment
from engine.segmenter.transcode import (
    audio_init_segment,
    transcode_audio_segment,
    transcode_video_segment,
    video_init_segment,
)
from engine.sessions.plan import SegmentJob


def produce(job: SegmentJob, source: Source) -> bytes:
    """The bytes of ``job``: an init segment (``job.part is None``) or a media segment."""
    rendition = job.rendition
    stream = rendition.source_index
    encoding = rendition.encoding
    if job.container == "webvtt":
        if job.part is None:
            raise NotFound("WebVTT subtitles have no init segment")
        return subtitle_segment(
            source,
            stream,
            start=job.seek,
            end=job.stop,
            time_base=job.time_base,
            offset_s=job.offset_seconds,
        )
    container: Container = "mpegts" if job.container == "mpegts" else "cmaf"
    if job.part is None:
        if encoding is None:
            return init_segment(source, stream)
        if isinstance(encoding, VideoEncoding):
            return video_init_segment(source, stream, encoding)
        if isinstance(encoding, AudioEncoding):
            return audio_init_segment(source, stream, encoding)
        raise NotFound(f"rendition {rendition.id} has no init segment")
    cut: Callable[..., Segment]
    if encoding is None:
        cut = remux_segment
    elif isinstance(encoding, VideoEncoding):
        cut = partial(transcode_video_segment, encoding=encoding)
    elif isinstance(encoding, AudioEncoding):
        cut = partial(transcode_audio_segment, encoding=encoding)
    else:
        raise NotFound(f"rendition {rendition.id} cannot be segmented")
    return cut(
        source,
        stream,
        start=job.seek,
        end=job.stop,
        time_base=job.time_base,
        offset=job.offset,
        container=container,
    ).data
