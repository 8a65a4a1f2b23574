"""WebVTT formatting: pure, table-driven."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.segmenter.webvtt import Cue, ass_text, clean_text, document, overlaps, timestamp


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (Fraction(0), "00:00:00.000"),
        (Fraction(1, 3), "00:00:00.333"),
        (Fraction(2, 3), "00:00:00.667"),
        (Fraction(1, 2000), "00:00:00.001"),  # half a millisecond rounds up
        (Fraction(59999, 1000), "00:00:59.999"),
        (Fraction(3723, 1), "01:02:03.000"),
        (Fraction(100 * 3600 + 1), "100:00:01.000"),
        (Fraction(-1, 10), "00:00:00.000"),
    ],
)
def test_timestamp(seconds: Fraction, expected: str) -> None:
    assert timestamp(seconds) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        (r"{\i1}italic{\i0} words", "italic words"),
        (r"{\an8}{\pos(10,20)}top", "top"),
        (r"one\Ntwo", "one\ntwo"),
        (r"one\ntwo", "one\ntwo"),
        (r"no\hbreak", "no\u00a0break"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("<i>not a tag</i>", "&lt;i&gt;not a tag&lt;/i&gt;"),
        ("a --> b", "a --&gt; b"),
        ("first\n\n\nsecond", "first\nsecond"),  # a blank line would end the cue
        ("  padded  \r\n", "padded"),
        (r"{\b1}", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("0,0,Default,,0,0,0,,Hello", "Hello"),
        ("0,0,Default,,0,0,0,,Hello, world", "Hello, world"),
        ("1,0,Sign,Narrator,10,10,20,Fade,{\\i1}Text", "{\\i1}Text"),
        ("just text", "just text"),
    ],
)
def test_ass_text(event: str, expected: str) -> None:
    assert ass_text(event) == expected


@pytest.mark.parametrize(
    ("cue", "segment", "expected"),
    [
        ((0, 1), (None, None), True),
        ((0, 1), (1, 2), False),  # ends exactly where the segment starts
        ((0, 2), (1, 3), True),  # straddles the start
        ((2, 4), (1, 3), True),  # straddles the end
        ((3, 4), (1, 3), False),  # starts exactly at the end
        ((0, 10), (1, 3), True),  # covers the whole segment
        ((5, 6), (None, 3), False),
        ((5, 6), (4, None), True),
    ],
)
def test_overlaps(
    cue: tuple[int, int], segment: tuple[int | None, int | None], expected: bool
) -> None:
    lo, hi = (None if x is None else Fraction(x) for x in segment)
    assert overlaps(Fraction(cue[0]), Fraction(cue[1]), lo, hi) is expected


def test_document_has_the_hls_timestamp_map_and_sorted_cues() -> None:
    cues = [
        Cue(Fraction(5), Fraction(6), "second"),
        Cue(Fraction(3, 2), Fraction(5, 2), "first\nline two"),
        Cue(Fraction(7), Fraction(7), "no duration"),
        Cue(Fraction(8), Fraction(9), ""),
    ]
    assert document(cues) == (
        "WEBVTT\n"
        "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"
        "\n"
        "00:00:01.500 --> 00:00:02.500\n"
        "first\nline two\n"
        "\n"
        "00:00:05.000 --> 00:00:06.000\n"
        "second\n"
        "\n"
    )


def test_an_empty_segment_is_a_valid_file() -> None:
    assert document([]) == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"
    assert document([], timestamp_map=False) == "WEBVTT\n\n"
