from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.segmenter.keyframes import KeyframeIndex
from engine.segmenter.planner import decode_times, plan_boundaries, segment_count, total_duration
from engine.segmenter.playlists import (
    dash_manifest,
    decimal,
    hls_master,
    hls_media,
    hls_subtitles,
    segment_timeline,
)
from engine.segmenter.renditions import Rendition, RenditionKind, plan_renditions
from ingest.models import StreamInfo
from tests.engine.segmenter.test_planner import indexes

MS = Fraction(1, 1000)
NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
FPS = Fraction(24000, 1001)
STREAMS = [
    StreamInfo(
        0,
        "video",
        "h264",
        profile="High",
        level=40,
        width=1920,
        height=1080,
        fps=FPS,
        bit_rate=6_000_000,
    ),
    StreamInfo(
        1,
        "audio",
        "aac",
        profile="LC",
        channels=2,
        sample_rate=48_000,
        language="eng",
        is_default=True,
    ),
    StreamInfo(2, "audio", "eac3", channels=6, sample_rate=48_000, language="fra"),
    StreamInfo(3, "subtitle", "subrip", language="eng", title='Director\'s "notes"\n'),
    StreamInfo(4, "subtitle", "ass", language="fra", is_forced=True),
]
RENDITIONS = plan_renditions(STREAMS, source_bit_rate=None)


def uri(r: Rendition) -> str:
    return f"{r.id}/index.m3u8"


def attributes(line: str) -> dict[str, str]:
    """The attribute list of an HLS tag line (quoted strings may hold commas)."""
    body = line.split(":", 1)[1]
    out: dict[str, str] = {}
    while body:
        key, body = body.split("=", 1)
        if body.startswith('"'):
            end = body.index('"', 1)
            value, body = body[1:end], body[end + 2 :]
        else:
            value, _, body = body.partition(",")
        out[key] = value
    return out


def test_master_playlist() -> None:
    text = hls_master(RENDITIONS, uri=uri)
    lines = text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert text.endswith("\n")
    media = [attributes(x) for x in lines if x.startswith("#EXT-X-MEDIA:")]
    assert [(m["TYPE"], m["GROUP-ID"], m["NAME"], m["DEFAULT"], m["URI"]) for m in media] == [
        ("AUDIO", "aac", "eng", "YES", "a0/index.m3u8"),
        ("AUDIO", "aac", "fra", "NO", "a1/index.m3u8"),
        ("AUDIO", "eac3", "fra", "YES", "a1-eac3/index.m3u8"),
        ("SUBTITLES", "subs", "Director's 'notes'", "NO", "s0/index.m3u8"),
        ("SUBTITLES", "subs", "fra", "NO", "s1/index.m3u8"),
    ]
    assert [m.get("CHANNELS") for m in media] == ["2", "2", "6", None, None]
    assert [m.get("FORCED") for m in media] == [None, None, None, "NO", "YES"]
    assert all(m["AUTOSELECT"] == "YES" for m in media)
    assert [m["LANGUAGE"] for m in media] == ["eng", "fra", "fra", "eng", "fra"]

    variants = [
        (attributes(line), lines[i + 1])
        for i, line in enumerate(lines)
        if line.startswith("#EXT-X-STREAM-INF:")
    ]
    assert [(v["AUDIO"], u) for v, u in variants][:4] == [
        ("aac", "v0/index.m3u8"),
        ("eac3", "v0/index.m3u8"),
        ("aac", "720p/index.m3u8"),
        ("eac3", "720p/index.m3u8"),
    ]
    top, top_surround = variants[0][0], variants[1][0]
    assert top == {
        "BANDWIDTH": str(9_000_000 + 128_000),
        "AVERAGE-BANDWIDTH": str(6_000_000 + 128_000),
        "CODECS": "avc1.640028,mp4a.40.2",
        "RESOLUTION": "1920x1080",
        "FRAME-RATE": "23.976",
        "AUDIO": "aac",
        "SUBTITLES": "subs",
    }
    assert top_surround["CODECS"] == "avc1.640028,ec-3"
    assert top_surround["BANDWIDTH"] == str(9_000_000 + 640_000)
    assert [v["RESOLUTION"] for v, _ in variants[::2]] == [
        "1920x1080",
        "1280x720",
        "854x480",
        "640x360",
    ]


def test_master_without_audio_or_subtitles() -> None:
    renditions = plan_renditions(STREAMS[:1], source_bit_rate=None)
    variants = [
        attributes(x) for x in hls_master(renditions, uri=uri).splitlines() if "STREAM-INF" in x
    ]
    assert len(variants) == 4
    assert all("AUDIO" not in v and "SUBTITLES" not in v for v in variants)
    assert variants[0]["CODECS"] == "avc1.640028"


def test_audio_only_master() -> None:
    renditions = plan_renditions([StreamInfo(0, "audio", "flac", channels=2)], source_bit_rate=None)
    lines = hls_master(renditions, uri=uri).splitlines()
    assert lines[3:] == [
        '#EXT-X-STREAM-INF:BANDWIDTH=128000,AVERAGE-BANDWIDTH=128000,CODECS="mp4a.40.2"',
        "a0/index.m3u8",
    ]


@pytest.mark.parametrize("bad", ['a"b.m3u8', "a\nb", "", "#x"])
def test_unquotable_uris_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="URI"):
        hls_master(RENDITIONS, uri=lambda r: bad)
    with pytest.raises(ValueError, match="URI"):
        hls_media((0, 1000), time_base=MS, segment_uri=lambda n: bad, init_uri=None)


def test_media_playlist_golden() -> None:
    text = hls_media(
        (0, 2000, 8000, 12500, 20020),
        time_base=MS,
        segment_uri=lambda n: f"seg-{n}.m4s",
        init_uri="init.mp4",
    )
    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-TARGETDURATION:8\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MAP:URI="init.mp4"\n'
        "#EXTINF:2.000,\nseg-0.m4s\n"
        "#EXTINF:6.000,\nseg-1.m4s\n"
        "#EXTINF:4.500,\nseg-2.m4s\n"
        "#EXTINF:7.520,\nseg-3.m4s\n"
        "#EXT-X-ENDLIST\n"
    )


def test_ts_and_subtitle_playlists_have_no_map() -> None:
    ts = hls_media((0, 6000), time_base=MS, segment_uri=lambda n: f"{n}.ts", init_uri=None)
    vtt = hls_subtitles((0, 6000), time_base=MS, segment_uri=lambda n: f"{n}.vtt")
    assert "EXT-X-MAP" not in ts and "EXT-X-MAP" not in vtt
    assert ts.splitlines()[-2:] == ["0.ts", "#EXT-X-ENDLIST"]
    assert vtt.splitlines()[-3:] == ["#EXTINF:6.000,", "0.vtt", "#EXT-X-ENDLIST"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (FPS, "23.976"),
        (Fraction(30000, 1001), "29.970"),
        (Fraction(25), "25.000"),
        (Fraction(1, 2000), "0.001"),
        (Fraction(-1, 3), "-0.333"),
    ],
)
def test_decimal(value: Fraction, text: str) -> None:
    assert decimal(value) == text


def parse_media(text: str) -> tuple[int, list[Fraction], list[str]]:
    lines = text.splitlines()
    target = next(int(x.split(":")[1]) for x in lines if x.startswith("#EXT-X-TARGETDURATION:"))
    extinfs = [
        Fraction(x[len("#EXTINF:") :].rstrip(",")) for x in lines if x.startswith("#EXTINF:")
    ]
    uris = [lines[i + 1] for i, x in enumerate(lines) if x.startswith("#EXTINF:")]
    return target, extinfs, uris


@given(index=indexes(), first=st.sampled_from([None, Fraction(2)]))
def test_media_playlists_add_up(index: KeyframeIndex, first: Fraction | None) -> None:
    b = plan_boundaries(index, first_target=first)
    tb = index.time_base
    text = hls_media(b, time_base=tb, segment_uri=lambda n: f"{n}.m4s", init_uri="init.mp4")
    target, extinfs, uris = parse_media(text)
    assert uris == [f"{n}.m4s" for n in range(segment_count(b))]
    total = total_duration(b, time_base=tb)
    # The EXTINFs add up to the duration (rounded to the millisecond once, no drift)...
    assert abs(sum(extinfs) - total) <= Fraction(1, 2000)
    # ... each is within a millisecond of its segment ...
    for n, value in enumerate(extinfs):
        assert abs(value - (b[n + 1] - b[n]) * tb) <= Fraction(1, 1000)
    # ... and no EXTINF, rounded, exceeds the target duration (which is as small as it can be).
    assert all(round(value) <= target for value in extinfs)
    assert target == max(1, math.ceil(max(extinfs)))
    assert text.endswith("#EXT-X-ENDLIST\n")


def timelines(mpd: str) -> list[tuple[int, int, list[int]]]:
    """(timescale, presentationTimeOffset, expanded durations) of each adaptation set."""
    root = ET.fromstring(mpd)
    out = []
    for adaptation in root.iterfind("d:Period/d:AdaptationSet", NS):
        template = adaptation.find("d:SegmentTemplate", NS)
        assert template is not None
        durations: list[int] = []
        starts: list[int] = []
        for s in template.iterfind("d:SegmentTimeline/d:S", NS):
            if "t" in s.attrib:
                starts.append(int(s.attrib["t"]))
            durations += [int(s.attrib["d"])] * (int(s.attrib.get("r", "0")) + 1)
        assert len(starts) == 1
        offset = int(template.attrib.get("presentationTimeOffset", "0"))
        assert starts[0] == offset
        out.append((int(template.attrib["timescale"]), offset, durations))
    return out


def test_mpd_structure() -> None:
    b = (0, 2000, 8000, 14000, 20000, 21000)
    mpd = dash_manifest(
        RENDITIONS,
        b,
        time_base=MS,
        initialization="$RepresentationID$/init.mp4",
        media="$RepresentationID$/$Number$.m4s",
    )
    root = ET.fromstring(mpd)
    assert root.tag == "{urn:mpeg:dash:schema:mpd:2011}MPD"
    assert root.attrib["type"] == "static"
    assert root.attrib["mediaPresentationDuration"] == "PT21.000S"
    sets = root.findall("d:Period/d:AdaptationSet", NS)
    assert [(s.attrib["contentType"], s.attrib.get("lang")) for s in sets] == [
        ("video", None),
        ("audio", "eng"),
        ("audio", "fra"),
        ("audio", "fra"),
    ]
    reps = sets[0].findall("d:Representation", NS)
    assert [
        (r.attrib["id"], r.attrib["width"], r.attrib["height"], r.attrib["frameRate"]) for r in reps
    ] == [
        ("v0", "1920", "1080", "24000/1001"),
        ("720p", "1280", "720", "24000/1001"),
        ("480p", "854", "480", "24000/1001"),
        ("360p", "640", "360", "24000/1001"),
    ]
    assert reps[0].attrib["codecs"] == "avc1.640028" and reps[0].attrib["bandwidth"] == "9000000"
    template = sets[0].find("d:SegmentTemplate", NS)
    assert template is not None
    assert template.attrib["startNumber"] == "0"
    assert template.attrib["media"] == "$RepresentationID$/$Number$.m4s"
    timeline = template.find("d:SegmentTimeline", NS)
    assert timeline is not None
    assert [s.attrib for s in timeline] == [
        {"t": "0", "d": "180000"},
        {"d": "540000", "r": "2"},
        {"d": "90000"},
    ]
    audio = sets[3].find("d:Representation", NS)
    assert audio is not None and audio.attrib["codecs"] == "ec-3"
    channels = audio.find("d:AudioChannelConfiguration", NS)
    assert channels is not None and channels.attrib["value"] == "6"
    roles = [s.find("d:Role", NS) for s in sets[1:]]
    assert [r.attrib["value"] for r in roles if r is not None] == ["main", "alternate", "main"]


def test_mpd_with_a_source_clock_origin() -> None:
    b = (1001, 7007, 10010)
    mpd = dash_manifest(
        RENDITIONS[:1],
        b,
        time_base=MS,
        initialization="$RepresentationID$.mp4",
        media="$RepresentationID$-$Number$.m4s",
    )
    ((timescale, offset, durations),) = timelines(mpd)
    assert (timescale, offset, durations) == (90000, 90090, [540540, 270270])
    mpd = dash_manifest(
        RENDITIONS[:1],
        b,
        time_base=MS,
        origin=1001,
        initialization="$RepresentationID$.mp4",
        media="$RepresentationID$-$Number$.m4s",
    )
    assert "presentationTimeOffset" not in mpd


@pytest.mark.parametrize(
    ("initialization", "media"),
    [
        ("init.mp4", "$RepresentationID$/$Number$.m4s"),
        ("$RepresentationID$/init.mp4", "$RepresentationID$/x.m4s"),
    ],
)
def test_mpd_templates_are_checked(initialization: str, media: str) -> None:
    with pytest.raises(ValueError, match="template"):
        dash_manifest(
            RENDITIONS, (0, 1000), time_base=MS, initialization=initialization, media=media
        )


def test_mpd_escapes_attribute_values() -> None:
    mpd = dash_manifest(
        RENDITIONS[:1],
        (0, 1000),
        time_base=MS,
        initialization='$RepresentationID$/i.mp4?a=1&b="2"',
        media="$RepresentationID$/$Number$.m4s?x=<y>",
    )
    template = ET.fromstring(mpd).find("d:Period/d:AdaptationSet/d:SegmentTemplate", NS)
    assert template is not None
    assert template.attrib["initialization"] == '$RepresentationID$/i.mp4?a=1&b="2"'
    assert template.attrib["media"] == "$RepresentationID$/$Number$.m4s?x=<y>"


@given(index=indexes(), first=st.sampled_from([None, Fraction(2)]))
def test_mpd_timelines_add_up(index: KeyframeIndex, first: Fraction | None) -> None:
    b = plan_boundaries(index, first_target=first)
    tb = index.time_base
    mpd = dash_manifest(
        RENDITIONS,
        b,
        time_base=tb,
        origin=b[0],
        initialization="$RepresentationID$/i",
        media="$RepresentationID$/$Number$",
    )
    sets = timelines(mpd)
    assert [scale for scale, _, _ in sets] == [90000, 48000, 48000, 48000]
    total = total_duration(b, time_base=tb)
    for (timescale, offset, durations), frame in zip(sets, [1, 1024, 1024, 1536], strict=True):
        assert offset == 0
        assert len(durations) == segment_count(b)
        assert all(d > 0 and d % frame == 0 for d in durations)
        times = decode_times(
            b, time_base=tb, timescale=timescale, frame_duration=frame, origin=b[0]
        )
        assert durations == [y - x for x, y in pairwise(times)]
        # The timeline adds up to the duration: to the tick for video, within a frame for audio.
        error = abs(Fraction(sum(durations), timescale) - total)
        assert error <= Fraction(frame, timescale) + Fraction(1, 2 * timescale)


def test_segment_timeline_run_lengths() -> None:
    assert segment_timeline([0, 5, 10, 15, 17, 19, 20]) == [(5, 3), (2, 2), (1, 1)]
    assert segment_timeline([0]) == []


def test_rendition_kinds_in_order() -> None:
    assert [r.kind for r in RENDITIONS] == [RenditionKind.VIDEO] * 4 + [RenditionKind.AUDIO] * 3 + [
        RenditionKind.SUBTITLE
    ] * 2
