from __future__ import annotations

from fractions import Fraction

import pytest

from engine.segmenter import codecs
from engine.segmenter.renditions import (
    AudioEncoding,
    LadderRung,
    Rendition,
    RenditionKind,
    SubtitleEncoding,
    VideoEncoding,
    plan_renditions,
)
from ingest.models import StreamInfo

FPS = Fraction(24000, 1001)


@pytest.mark.parametrize(
    ("codec", "profile", "level", "bit_depth", "expected"),
    [
        ("h264", "High", 31, 8, "avc1.64001f"),
        ("h264", "High", 40, 8, "avc1.640028"),
        ("h264", "Main", 30, 8, "avc1.4d401e"),
        ("h264", "Baseline", 30, 8, "avc1.42001e"),
        ("h264", "Constrained Baseline", 30, 8, "avc1.42e01e"),
        ("h264", "High 10", 51, 10, "avc1.6e0033"),
        ("h264", None, None, None, "avc1.640028"),
        ("hevc", "Main", 93, 8, "hvc1.1.6.L93.B0"),
        ("hevc", "Main 10", 150, 10, "hvc1.2.4.L150.B0"),
        ("hevc", "Rext", 153, 12, "hvc1.4.10.L153.B0"),
        ("av1", "Main", 8, 8, "av01.0.08M.08"),
        ("av1", "Main", 13, 10, "av01.0.13M.10"),
        ("av1", "High", 5, 8, "av01.1.05M.08"),
        ("vp9", "Profile 0", None, 8, "vp09.00.40.08"),
        ("vp9", "Profile 2", 41, 10, "vp09.02.41.10"),
        ("aac", "LC", None, None, "mp4a.40.2"),
        ("aac", "HE-AAC", None, None, "mp4a.40.5"),
        ("aac", "HE-AACv2", None, None, "mp4a.40.29"),
        ("aac", None, None, None, "mp4a.40.2"),
        ("mp3", None, None, None, "mp4a.40.34"),
        ("opus", None, None, None, "Opus"),
        ("flac", None, None, None, "fLaC"),
        ("ac3", None, None, None, "ac-3"),
        ("eac3", None, None, None, "ec-3"),
        ("mpeg2video", "Main", 8, 8, None),
        ("dts", "DTS-HD MA", None, None, None),
        (None, None, None, None, None),
    ],
)
def test_codec_strings(
    codec: str | None,
    profile: str | None,
    level: int | None,
    bit_depth: int | None,
    expected: str | None,
) -> None:
    assert codecs.codec_string(codec, profile, level, bit_depth) == expected


@pytest.mark.parametrize(
    ("width", "height", "fps", "level"),
    [
        (640, 360, Fraction(30), 30),
        (854, 480, Fraction(30), 31),  # 1620 macroblocks x 30 exceeds 3.0
        (854, 480, FPS, 30),
        (1280, 720, Fraction(30), 31),
        (1280, 720, Fraction(60), 32),
        (1920, 1080, FPS, 40),
        (1920, 1080, Fraction(60), 42),
        (3840, 2160, Fraction(30), 51),
        (3840, 2160, None, 51),
    ],
)
def test_avc_levels(width: int, height: int, fps: Fraction | None, level: int) -> None:
    assert codecs.avc_level(width, height, fps) == level


def video(width: int, height: int, codec: str = "h264", bit_rate: int | None = None) -> StreamInfo:
    return StreamInfo(
        index=0,
        kind="video",
        codec=codec,
        profile="High",
        level=40,
        bit_depth=8,
        width=width,
        height=height,
        fps=FPS,
        bit_rate=bit_rate,
    )


def sizes(renditions: tuple[Rendition, ...]) -> list[tuple[str, int | None, int | None]]:
    return [(r.id, r.width, r.height) for r in renditions if r.kind is RenditionKind.VIDEO]


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (
            3840,
            2160,
            [
                ("v0", 3840, 2160),
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
        ),
        (
            1920,
            1080,
            [("v0", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)],
        ),
        (854, 480, [("v0", 854, 480), ("360p", 640, 360)]),
        (720, 480, [("v0", 720, 480), ("360p", 540, 360)]),
        # Scope films fit the box by width: no "1080p" for 1920x800, a 1280x534 "720p".
        (
            1920,
            800,
            [("v0", 1920, 800), ("720p", 1280, 534), ("480p", 854, 356), ("360p", 640, 266)],
        ),
        # Odd sizes round to even sides.
        (1001, 563, [("v0", 1001, 563), ("480p", 854, 480), ("360p", 640, 360)]),
        (853, 479, [("v0", 853, 479), ("360p", 640, 360)]),
        # Portrait video: the box limits the height.
        (
            1080,
            1920,
            [
                ("v0", 1080, 1920),
                ("1080p", 608, 1080),
                ("720p", 406, 720),
                ("480p", 270, 480),
                ("360p", 202, 360),
            ],
        ),
        (640, 360, [("v0", 640, 360)]),
        (320, 240, [("v0", 320, 240)]),
    ],
)
def test_ladder(width: int, height: int, expected: list[tuple[str, int, int]]) -> None:
    renditions = plan_renditions([video(width, height)], source_bit_rate=None)
    assert sizes(renditions) == expected
    for r in renditions:
        assert r.width is not None and r.height is not None
        assert r.width % 2 == 0 or r.id == "v0"
        assert r.height % 2 == 0 or r.id == "v0"


def test_original_is_a_remux_and_rungs_are_h264_transcodes() -> None:
    original, *rungs = plan_renditions(
        [video(3840, 2160, "hevc", 20_000_000)], source_bit_rate=None
    )
    assert original.is_remux and original.codec == "hvc1.1.6.L40.B0"
    assert original.average_bandwidth == 20_000_000 and original.bandwidth == 30_000_000
    assert original.frame_rate == FPS and original.timescale == 90_000
    expected = {"1080p": (5_000_000, 40), "720p": (3_000_000, 31), "480p": (1_500_000, 30)}
    for rung in rungs:
        assert isinstance(rung.encoding, VideoEncoding)
        enc = rung.encoding
        assert (enc.width, enc.height) == (rung.width, rung.height)
        assert enc.encoder == "libx264" and enc.profile == "high" and enc.pix_fmt == "yuv420p"
        assert rung.codec == codecs.avc("High", enc.level)
        assert rung.bandwidth == enc.max_rate == enc.bit_rate * 3 // 2
        if rung.id in expected:
            assert (enc.bit_rate, enc.level) == expected[rung.id]


def test_rungs_never_exceed_the_source_bit_rate() -> None:
    renditions = plan_renditions([video(3840, 2160, bit_rate=2_000_000)], source_bit_rate=None)
    rates = {r.id: r.average_bandwidth for r in renditions}
    assert rates == {
        "v0": 2_000_000,
        "1080p": 2_000_000,
        "720p": 2_000_000,
        "480p": 1_500_000,
        "360p": 800_000,
    }


def test_video_bit_rate_from_the_container_or_an_estimate() -> None:
    streams = [video(1920, 1080), StreamInfo(1, "audio", "aac", bit_rate=192_000, channels=2)]
    from_container = plan_renditions(streams, source_bit_rate=8_192_000)
    assert from_container[0].average_bandwidth == 8_000_000
    estimated = plan_renditions(streams, source_bit_rate=None)
    assert estimated[0].average_bandwidth == 1920 * 1080 * FPS.numerator // FPS.denominator // 10


def test_a_codec_cmaf_cannot_carry_becomes_a_transcode_at_source_size() -> None:
    top, *_ = plan_renditions([video(1920, 1080, "mpeg2video")], source_bit_rate=12_000_000)
    assert not top.is_remux and top.id == "v0" and (top.width, top.height) == (1920, 1080)
    assert isinstance(top.encoding, VideoEncoding) and top.encoding.bit_rate == 5_000_000


def test_custom_ladder() -> None:
    ladder = (LadderRung("540p", 960, 540, 2_000_000),)
    assert sizes(plan_renditions([video(1920, 1080)], source_bit_rate=None, ladder=ladder)) == [
        ("v0", 1920, 1080),
        ("540p", 960, 540),
    ]


def test_attached_pictures_are_not_video() -> None:
    cover = StreamInfo(0, "video", "mjpeg", width=600, height=600, is_attached_pic=True)
    song = StreamInfo(1, "audio", "flac", channels=2, sample_rate=96_000)
    (only,) = plan_renditions([cover, song], source_bit_rate=None)
    assert only.kind is RenditionKind.AUDIO and only.sample_rate == 48_000


def test_audio_renditions() -> None:
    streams = [
        video(1920, 1080),
        StreamInfo(
            1,
            "audio",
            "aac",
            profile="LC",
            channels=2,
            sample_rate=44_100,
            language="eng",
            bit_rate=160_000,
        ),
        StreamInfo(
            2, "audio", "eac3", channels=6, sample_rate=48_000, language="fra", is_default=True
        ),
        StreamInfo(
            3, "audio", "dts", profile="DTS", channels=6, sample_rate=48_000, language="deu"
        ),
        StreamInfo(4, "audio", "mp3", channels=1, sample_rate=22_050, title="Commentary"),
        StreamInfo(
            5, "audio", "aac", profile="HE-AAC", channels=2, sample_rate=48_000, language="eng"
        ),
    ]
    audio = [
        r for r in plan_renditions(streams, source_bit_rate=None) if r.kind is RenditionKind.AUDIO
    ]
    table = [
        (
            r.id,
            r.group_id,
            r.codec,
            r.is_remux,
            r.channels,
            r.sample_rate,
            r.language,
            r.name,
            r.is_default,
        )
        for r in audio
    ]
    assert table == [
        ("a0", "aac", "mp4a.40.2", True, 2, 44_100, "eng", "eng", False),
        ("a1", "aac", "mp4a.40.2", False, 2, 48_000, "fra", "fra", True),
        ("a1-eac3", "eac3", "ec-3", True, 6, 48_000, "fra", "fra", True),
        ("a2", "aac", "mp4a.40.2", False, 2, 48_000, "deu", "deu", False),
        ("a3", "aac", "mp4a.40.2", False, 1, 48_000, None, "Commentary", False),
        ("a4", "aac", "mp4a.40.5", True, 2, 48_000, "eng", "eng (2)", False),
    ]
    assert audio[0].average_bandwidth == 160_000 and audio[1].bandwidth == 128_000
    assert audio[3].encoding == AudioEncoding(bit_rate=128_000, channels=2, sample_rate=48_000)
    assert audio[4].encoding == AudioEncoding(bit_rate=64_000, channels=1, sample_rate=48_000)
    assert audio[2].bandwidth == 640_000
    assert [r.timescale for r in audio] == [44_100, 48_000, 48_000, 48_000, 48_000, 48_000]
    assert [r.frame_duration for r in audio] == [1024, 1024, 1536, 1024, 1024, 1024]


def test_first_audio_is_default_when_none_is_marked() -> None:
    streams = [
        StreamInfo(0, "audio", "ac3", channels=6),
        StreamInfo(1, "audio", "opus", channels=2),
    ]
    renditions = plan_renditions(streams, source_bit_rate=None)
    assert [(r.id, r.is_default) for r in renditions] == [
        ("a0", True),
        ("a0-ac3", True),
        ("a1", False),
    ]
    without = plan_renditions(streams, source_bit_rate=None, passthrough=())
    assert [r.id for r in without] == ["a0", "a1"]


def test_text_subtitles_become_webvtt() -> None:
    streams = [
        video(1920, 1080),
        StreamInfo(1, "subtitle", "subrip", language="eng"),
        StreamInfo(2, "subtitle", "hdmv_pgs_subtitle", language="eng"),
        StreamInfo(3, "subtitle", "ass", language="fra", is_forced=True, title="Forced"),
        StreamInfo(4, "subtitle", "dvd_subtitle", language="deu"),
        StreamInfo(5, "subtitle", "mov_text", language="eng"),
        StreamInfo(6, "subtitle", "webvtt", language="spa", is_default=True),
    ]
    subs = [
        r
        for r in plan_renditions(streams, source_bit_rate=None)
        if r.kind is RenditionKind.SUBTITLE
    ]
    assert [(r.id, r.source_index, r.name, r.is_forced, r.is_default) for r in subs] == [
        ("s0", 1, "eng", False, False),
        ("s1", 3, "Forced", True, False),
        ("s2", 5, "eng (2)", False, False),
        ("s3", 6, "spa", False, True),
    ]
    assert all(r.codec == "wvtt" and r.group_id == "subs" for r in subs)
    assert all(r.encoding == SubtitleEncoding() and not r.is_remux for r in subs)


def test_plans_are_deterministic() -> None:
    streams = [video(3840, 2160), StreamInfo(1, "audio", "truehd", channels=8)]
    assert plan_renditions(streams, source_bit_rate=None) == plan_renditions(
        streams, source_bit_rate=None
    )
