"""Downloads: one title as one MP4 file, at a quality, for watching offline.

A download is made of the same segments as streaming (``Playback.download``: the segment
workers, their cache and their admission), so a title someone is watching costs nothing more
to download, and any number of downloads share the encoders fairly with players:

- ``original``: the video as it is (a remux) with the default audio rendition;
- ``<height>p``: a rung of the transcode ladder (H.264) with the same audio.

For each segment the video and audio fragments are demuxed and muxed together into one
fragmented MP4 (``combine``, in a worker thread): the init (ftyp + moov with both tracks) comes
first, then one ``moof``+``mdat`` per track per segment. The file streams as it is made (no
Content-Length: a transcode's size is known only at the end, ``size_estimate`` guesses it),
and plays progressively in any MP4 player. A failed segment ends the response early: the
client sees a short download and retries it.

Demuxing a fragment back, FFmpeg reports a video packet's presentation time later by the
stream's reorder delay than the fragment says (``engine.segmenter.remux``); each segment's
video is therefore shifted back so its first keyframe sits at the segment's planned start,
which keeps audio and video as aligned as they are when streamed.
"""

from __future__ import annotations

import io
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import anyio
import av

from engine.errors import CorruptSource, NotFound, Overloaded
from engine.segmenter.remux import CMAF_OPTIONS, first_box
from engine.segmenter.renditions import Rendition, RenditionKind
from engine.sessions.plan import PlaybackPlan

ORIGINAL = "original"
BUSY_RETRIES = 120  # a download waits this many times for a busy encoder before failing


@dataclass(frozen=True, slots=True)
class Quality:
    quality: str  # "original" or "<height>p"
    rendition: Rendition
    audio: Rendition | None

    @property
    def transcoded(self) -> bool:
        return not self.rendition.is_remux


def qualities(plan: PlaybackPlan) -> list[Quality]:
    """What ``plan`` offers for download, best first: the original (if it can be remuxed) and
    each rung of the transcode ladder, each with the default audio rendition."""
    audios = [r for r in plan.renditions if r.kind is RenditionKind.AUDIO]
    audio = next((r for r in audios if r.is_default), audios[0] if audios else None)
    found: list[Quality] = []
    for rendition in plan.renditions:
        if rendition.kind is not RenditionKind.VIDEO:
            continue
        name = ORIGINAL if rendition.is_remux else f"{rendition.height}p"
        if all(q.quality != name for q in found):
            found.append(Quality(name, rendition, audio))
    return found


def choose(plan: PlaybackPlan, quality: str) -> Quality:
    for offered in qualities(plan):
        if offered.quality == quality:
            return offered
    names = ", ".join(q.quality for q in qualities(plan)) or "none"
    raise NotFound(f"no {quality!r} download of this title (offered: {names})")


def size_estimate(quality: Quality, duration_us: int | None) -> int | None:
    """Bytes, from the renditions' average bandwidths over the duration (a remux of the
    original is close; a transcode lands near it)."""
    if duration_us is None:
        return None
    bandwidth = quality.rendition.average_bandwidth + (
        quality.audio.average_bandwidth if quality.audio else 0
    )
    return math.ceil(bandwidth * duration_us / 8_000_000)


class Segments(Protocol):
    """Where a download gets one rendition's init (``part`` None) and media fragments: the
    segment workers, as for a player (``web.playback``)."""

    async def fragment(self, rendition_id: str, part: int | None) -> bytes: ...


async def stream(plan: PlaybackPlan, quality: Quality, segments: Segments) -> AsyncIterator[bytes]:
    """The MP4 file: the init, then each segment's fragments, as they are made."""
    video, audio = quality.rendition, quality.audio
    video_init = await segments.fragment(video.id, None)
    audio_init = await segments.fragment(audio.id, None) if audio else None
    for n in range(plan.segment_count):
        if n == 0:  # busy encoders now: the request is answered 429, the client retries
            video_part = await segments.fragment(video.id, n)
        else:  # busy encoders mid-file: wait for one, as a slow download
            video_part = await _patiently(segments, video.id, n)
        audio_part = await _patiently(segments, audio.id, n) if audio else None
        start = _planned_start(plan, video, n)
        init, media = await anyio.to_thread.run_sync(
            combine, video_init + video_part, audio_init, audio_part, start
        )
        if n == 0:
            yield init
        yield media


async def _patiently(segments: Segments, rendition_id: str, n: int) -> bytes:
    for _ in range(BUSY_RETRIES):
        try:
            return await segments.fragment(rendition_id, n)
        except Overloaded as busy:
            await anyio.sleep(max(0.5, busy.retry_after))
    return await segments.fragment(rendition_id, n)


def _planned_start(plan: PlaybackPlan, video: Rendition, n: int) -> Fraction:
    """Seconds at which segment ``n``'s first video frame is presented, as streamed."""
    return Fraction(plan.boundaries[n]) * plan.time_base + plan.presentation_offset


def combine(
    video: bytes, audio_init: bytes | None, audio: bytes | None, start: Fraction
) -> tuple[bytes, bytes]:
    """One segment's video (init + fragment) and audio muxed into one fragmented MP4: its init
    and its media part. ``start``: where the first video frame belongs, in seconds."""
    buffer = io.BytesIO()
    try:
        with av.open(io.BytesIO(video)) as vin, av.open(buffer, "w", format="mp4",
                                                         options=CMAF_OPTIONS) as out:  # fmt: skip
            inputs: list[tuple[Any, Any]] = [(vin, vin.streams.video[0])]
            ain = av.open(io.BytesIO(audio_init + audio)) if audio_init and audio else None
            try:
                if ain is not None:
                    inputs.append((ain, ain.streams.audio[0]))
                outs = [out.add_stream_from_template(stream) for _, stream in inputs]
                packets = []
                for (container, stream), ostream in zip(inputs, outs, strict=True):
                    for packet in container.demux(stream):
                        if packet.dts is None or packet.pts is None or not packet.size:
                            continue
                        packets.append((packet, ostream))
                _align_video(packets, outs[0], start)
                packets.sort(key=lambda p: p[0].dts * p[0].time_base)
                for packet, ostream in packets:
                    packet.stream = ostream
                    out.mux(packet)
            finally:
                if ain is not None:
                    ain.close()
    except av.error.FFmpegError as exc:
        raise CorruptSource(f"cannot put the download together: {exc}") from exc
    data = buffer.getvalue()
    cut = first_box(data, b"moof")
    if cut is None:
        raise CorruptSource("the download's segment came out empty")
    return data[:cut], data[cut:]


def _align_video(packets: list[tuple[Any, Any]], video: Any, start: Fraction) -> None:
    """Shift the video packets so the earliest presented one sits at ``start`` seconds."""
    shown = [p for p, ostream in packets if ostream is video]
    if not shown:
        return
    time_base = shown[0].time_base
    first = min(p.pts for p in shown)
    shift = first - round(start / time_base)
    if shift:
        for packet in shown:
            packet.pts -= shift
            packet.dts -= shift
