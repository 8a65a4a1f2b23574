"""Transcoded video segments made alone and out of order assemble into one valid stream: every
segment starts with an IDR on its boundary, timestamps are the source's, one init fits all."""

from __future__ import annotations

import itertools
import random
from array import array
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import av.error
import av.filter
import pytest
from av.video.frame import PictureType

from engine.errors import CorruptSource, EncodeFailed
from engine.segmenter.planner import decode_times, plan_boundaries, plan_segment, segment_count
from engine.segmenter.remux import Container, first_box
from engine.segmenter.renditions import AudioEncoding, VideoEncoding
from engine.segmenter.transcode import (
    audio_init_segment,
    available_video_encoders,
    transcode_audio_segment,
    transcode_video_segment,
    video_delay,
    video_init_segment,
)
from ingest.demo import synthesize_clip
from ingest.models import FileRole
from ingest.probe import probe_media
from tests.fixtures.services import ffmpeg_frames

SECONDS = 16
FPS = 25
ENCODING = VideoEncoding(
    width=256,
    height=192,
    bit_rate=400_000,
    max_rate=600_000,
    buffer_size=800_000,
    level=30,
    frame_rate=Fraction(FPS),
)
IDR = 5
SLICE = 1


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("transcode") / "source.mp4"
    return synthesize_clip(path, seconds=SECONDS, width=320, height=240, fps=FPS, gop=2 * FPS)


@pytest.fixture(scope="module")
def open_gop_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Open GOPs: each keyframe after the first is followed (in decode order) by B-frames shown
    before it, which a decoder started at that keyframe cannot reconstruct."""
    path = tmp_path_factory.mktemp("transcode") / "open-gop.mkv"
    gop = 2 * FPS
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=1:bframes=3:b-adapt=0"
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream(
            "libx264", rate=FPS, options={"preset": "veryfast", "x264-params": params}
        )
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        graph = av.filter.Graph()
        pattern = graph.add("testsrc2", f"size=320x240:rate={FPS}:duration=8")
        sink = graph.add("buffersink")
        pattern.link_to(sink)
        graph.configure()
        while True:
            try:
                frame = sink.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            frame.pict_type = PictureType.NONE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _boundaries(path: Path) -> tuple[Fraction, tuple[int, ...]]:
    probed = probe_media(path, name=path.name, role=FileRole.VIDEO, size=path.stat().st_size)
    assert probed.keyframes is not None
    boundaries = plan_boundaries(probed.keyframes, target=Fraction(4), first_target=Fraction(2))
    return probed.keyframes.time_base, boundaries


def _make_all(
    path: Path, *, container: Container, offset: int, seed: int = 5
) -> tuple[Fraction, tuple[int, ...], dict[int, bytes]]:
    time_base, boundaries = _boundaries(path)
    order = list(range(segment_count(boundaries)))
    random.Random(seed).shuffle(order)
    made = {}
    for n in order:
        plan = plan_segment(boundaries, n, time_base=time_base)
        segment = transcode_video_segment(
            path,
            0,
            start=plan.seek,
            end=plan.stop,
            time_base=time_base,
            encoding=ENCODING,
            offset=offset,
            container=container,
        )
        assert segment.first_pts == (plan.start if n else segment.first_pts)
        made[n] = segment.data
    return time_base, boundaries, made


def _frame_pts(path: Path) -> tuple[Fraction, list[int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.time_base, [f.pts for f in container.decode(stream)]


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    pos, end = start, len(data) if end is None else end
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        yield data[pos + 4 : pos + 8], data[pos + 8 : pos + size]
        pos += size


def _tfdts(data: bytes) -> list[int]:
    """The base media decode time of every fragment (moof > traf > tfdt)."""
    out = []
    for kind, moof in _boxes(data):
        if kind != b"moof":
            continue
        for kind2, traf in _boxes(moof):
            for kind3, tfdt in _boxes(traf) if kind2 == b"traf" else ():
                if kind3 == b"tfdt":
                    width = 8 if tfdt[0] == 1 else 4
                    out.append(int.from_bytes(tfdt[4 : 4 + width], "big"))
    return out


def _nal_types(packet: bytes) -> list[int]:
    """NAL unit types of an mp4 (4-byte length-prefixed) H.264 sample."""
    types, pos = [], 0
    while pos + 4 <= len(packet):
        size = int.from_bytes(packet[pos : pos + 4], "big")
        types.append(packet[pos + 4] & 0x1F)
        pos += 4 + size
    return types


@pytest.mark.parametrize("container", ["cmaf", "mpegts"])
def test_out_of_order_segments_assemble_into_a_continuous_stream(
    source: Path, tmp_path: Path, container: Container
) -> None:
    delay = video_delay(source, 0, ENCODING)
    assert delay > 0  # veryfast makes B-frames: TS decode times need this much room
    offset = delay + 3 * 512
    time_base, boundaries, made = _make_all(source, container=container, offset=offset)
    assert len(made) >= 4
    assembled = tmp_path / ("assembled.mp4" if container == "cmaf" else "assembled.ts")
    init = video_init_segment(source, 0, ENCODING) if container == "cmaf" else b""
    assembled.write_bytes(init + b"".join(made[n] for n in sorted(made)))

    assert len(ffmpeg_frames(assembled)) == SECONDS * FPS
    out_base, ours = _frame_pts(assembled)
    src_base, theirs = _frame_pts(source)
    assert len(ours) == len(theirs) == SECONDS * FPS
    # every frame at its source time, moved by one constant: no gap or overlap at boundaries
    shifts = {a * out_base - b * src_base for a, b in zip(ours, theirs, strict=True)}
    assert len(shifts) == 1
    if container == "mpegts":
        assert shifts == {offset * time_base}
    else:
        # each fragment starts at its boundary (+ offset): what a player's timeline follows
        timescale = 1 / out_base
        starts = [(b + offset) * time_base * timescale for b in boundaries[:-1]]
        assert _tfdts(assembled.read_bytes()) == starts


def test_every_segment_starts_with_an_idr_and_holds_one_gop(source: Path, tmp_path: Path) -> None:
    time_base, boundaries, made = _make_all(source, container="cmaf", offset=0, seed=9)
    init = video_init_segment(source, 0, ENCODING)
    for n, data in made.items():
        alone = tmp_path / f"{n}.mp4"
        alone.write_bytes(init + data)
        with av.open(str(alone)) as demuxed:
            packets = [p for p in demuxed.demux(video=0) if p.size]
        assert packets[0].is_keyframe
        assert [p.is_keyframe for p in packets[1:]] == [False] * (len(packets) - 1)
        slices = [t for t in _nal_types(bytes(packets[0])) if t in (IDR, SLICE)]
        assert slices and set(slices) == {IDR}  # an IDR, not just an I frame
        with av.open(str(alone)) as decoded:
            frames = list(decoded.decode(video=0))
        assert frames[0].key_frame and frames[0].pict_type == PictureType.I
        duration = (boundaries[n + 1] - boundaries[n]) * time_base
        assert len(frames) == duration * FPS


def test_the_init_segment_is_the_same_beside_every_segment(source: Path) -> None:
    time_base, boundaries = _boundaries(source)
    init = video_init_segment(source, 0, ENCODING)
    assert init[4:8] == b"ftyp" and first_box(init, b"moov") is not None
    assert first_box(init, b"moof") is None
    for n, threads in ((2, 0), (0, 1), (1, 3)):
        plan = plan_segment(boundaries, n, time_base=time_base)
        whole = transcode_video_segment(
            source,
            0,
            start=plan.seek,
            end=plan.stop,
            time_base=time_base,
            encoding=ENCODING,
            threads=threads,
            with_init=True,
        ).data
        cut = first_box(whole, b"moof")
        assert cut is not None and whole[:cut] == init


def test_an_open_gop_source_keeps_every_frame_once(open_gop_source: Path, tmp_path: Path) -> None:
    # A segment decodes past its end keyframe to reach the B-frames shown before it, and the
    # next one starts at that keyframe without them (the decoder hides them, or we drop them).
    _, _, made = _make_all(open_gop_source, container="cmaf", offset=0)
    assembled = tmp_path / "assembled.mp4"
    init = video_init_segment(open_gop_source, 0, ENCODING)
    assembled.write_bytes(init + b"".join(made[n] for n in sorted(made)))
    assert len(ffmpeg_frames(assembled)) == 8 * FPS
    out_base, ours = _frame_pts(assembled)
    src_base, theirs = _frame_pts(open_gop_source)
    assert len({a * out_base - b * src_base for a, b in zip(ours, theirs, strict=True)}) == 1


def test_720p_scales_to_360p(tmp_path: Path) -> None:
    big = synthesize_clip(tmp_path / "720p.mp4", seconds=1.0, width=1280, height=720, gop=25)
    encoding = VideoEncoding(
        width=640,
        height=360,
        bit_rate=800_000,
        max_rate=1_200_000,
        buffer_size=1_600_000,
        level=30,
        frame_rate=Fraction(25),
        preset="ultrafast",
    )
    segment = transcode_video_segment(
        big, 0, start=None, end=None, time_base=Fraction(1, 12800), encoding=encoding
    )
    path = tmp_path / "360p.mp4"
    path.write_bytes(video_init_segment(big, 0, encoding) + segment.data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 25
    assert {(f.width, f.height, f.format.name) for f in frames} == {(640, 360, "yuv420p")}


def test_ultrafast_has_no_encoder_delay(source: Path) -> None:
    fast = replace(ENCODING, preset="ultrafast")
    assert video_delay(source, 0, fast) == 0
    assert video_delay(source, 0, ENCODING) == 2 * 512  # B-pyramid: two frames of 1/12800 s


def test_a_source_that_cannot_be_read_is_corrupt(source: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(CorruptSource):
        transcode_video_segment(
            bad, 0, start=0, end=1000, time_base=Fraction(1, 1000), encoding=ENCODING
        )
    with pytest.raises(CorruptSource, match="not video"):
        video_init_segment(source, 1, ENCODING)  # the audio stream
    with pytest.raises(CorruptSource, match="no stream 7"):
        video_init_segment(source, 7, ENCODING)


@pytest.mark.parametrize(
    "change",
    [{"encoder": "no_such_encoder"}, {"preset": "warp-speed"}, {"width": 0}],
    ids=["unknown encoder", "impossible preset", "no width"],
)
def test_an_encoder_that_fails_is_encode_failed(source: Path, change: dict[str, object]) -> None:
    broken = replace(ENCODING, **change)
    with pytest.raises(EncodeFailed, match="cannot"):
        transcode_video_segment(
            source, 0, start=0, end=25600, time_base=Fraction(1, 12800), encoding=broken
        )


def test_libx264_is_always_available() -> None:
    encoders = available_video_encoders()
    assert encoders[-1] == "libx264"
    assert set(encoders) <= {"h264_nvenc", "h264_qsv", "h264_amf", "libx264"}


def _pcm(path: Path) -> array[float]:
    """The left channel, decoded, as floats."""
    out = array("f")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            out.extend(array("f", bytes(frame.planes[0]))[: frame.samples])
    return out


def test_audio_segments_are_gapless_and_on_the_frame_grid(source: Path, tmp_path: Path) -> None:
    time_base, boundaries = _boundaries(source)
    encoding = AudioEncoding(bit_rate=128_000, channels=2, sample_rate=48_000)
    offset = 1024  # the source's AAC priming, in its 1/48000 ticks
    order = list(range(segment_count(boundaries)))
    random.Random(4).shuffle(order)
    made = {}
    for n in order:
        plan = plan_segment(boundaries, n, time_base=time_base)
        made[n] = transcode_audio_segment(
            source,
            1,
            start=plan.seek,
            end=plan.stop,
            time_base=time_base,
            encoding=encoding,
            offset=offset,
        ).data
    assembled = tmp_path / "audio.mp4"
    assembled.write_bytes(
        audio_init_segment(source, 1, encoding) + b"".join(made[n] for n in sorted(made))
    )
    assert ffmpeg_frames(assembled, "a")
    times = decode_times(boundaries, time_base=time_base, timescale=48_000, frame_duration=1024)
    assert _tfdts(assembled.read_bytes()) == [t + offset for t in times[:-1]]
    with av.open(str(assembled)) as container:
        frames = list(container.decode(audio=0))
    assert {b.pts - a.pts for a, b in itertools.pairwise(frames)} == {1024}
    ours, theirs = _pcm(assembled), _pcm(source)
    assert len(ours) == len(theirs)  # every sample of the source, once
    # no click at a boundary: encoded with pre-roll, the error stays at AAC's coding noise
    # (without pre-roll it reaches the tone's full amplitude, ~0.09)
    for boundary in times[1:-1]:
        window = range(boundary - 2048, boundary + 2048)
        assert max(abs(ours[i] - theirs[i]) for i in window) < 0.01
