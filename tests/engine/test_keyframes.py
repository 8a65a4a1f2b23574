from __future__ import annotations

import contextlib
import struct
import zlib
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.segmenter.keyframes import KeyframeIndex

INT64_MAX = 2**63 - 1
# Consecutive pts may differ by at most INT64_MAX: the packed deltas are 64-bit zigzag varints.
# Media timestamps are int64 in FFmpeg, and real files never span half of that range.
PTS = st.integers(min_value=-(2**62), max_value=2**62 - 1)
TIME_BASES = st.fractions(min_value=Fraction(1, 2**31), max_value=Fraction(2**31)).filter(
    lambda f: f > 0 and f.numerator <= INT64_MAX and f.denominator <= INT64_MAX
)
HEADER = struct.Struct("<4sqqqI")


def packed(header: bytes, body: bytes = b"") -> bytes:
    return zlib.compress(header + body)


@given(
    time_base=TIME_BASES,
    pts=st.lists(PTS, max_size=300, unique=True).map(sorted),
    duration=st.integers(min_value=0, max_value=INT64_MAX),
)
def test_pack_unpack_round_trip(time_base: Fraction, pts: list[int], duration: int) -> None:
    index = KeyframeIndex(time_base=time_base, pts=tuple(pts), duration=duration)
    assert KeyframeIndex.unpack(index.pack()) == index


@given(start=st.integers(min_value=-(2**40), max_value=2**40), gop=st.integers(1, 10**6))
def test_regular_gops_pack_small(start: int, gop: int) -> None:
    # A two-hour film with a keyframe every 2 s: a few kilobytes at most.
    index = KeyframeIndex(Fraction(1, 90000), tuple(start + i * gop for i in range(3600)), 0)
    blob = index.pack()
    assert len(blob) < 4096
    assert KeyframeIndex.unpack(blob) == index


def test_empty_index_round_trips() -> None:
    index = KeyframeIndex(Fraction(1, 1000), (), 0)
    assert KeyframeIndex.unpack(index.pack()) == index


def test_seconds() -> None:
    index = KeyframeIndex(Fraction(1, 12800), (0, 25600), 51200)
    assert index.seconds(25600) == 2
    assert index.seconds(-1280) == Fraction(-1, 10)


@pytest.mark.parametrize(
    ("time_base", "pts", "duration", "message"),
    [
        (Fraction(0), (), 0, "time base"),
        (Fraction(-1, 1000), (), 0, "time base"),
        (Fraction(1, 1000), (), -1, "duration"),
        (Fraction(1, 1000), (0, 0), 10, "ascending"),
        (Fraction(1, 1000), (5, 3), 10, "ascending"),
    ],
)
def test_constructor_validation(
    time_base: Fraction, pts: tuple[int, ...], duration: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        KeyframeIndex(time_base=time_base, pts=pts, duration=duration)


VALID = KeyframeIndex(Fraction(1, 1000), (0, 2000, 4000), 6000).pack()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "zlib"),
        (b"not zlib at all", "zlib"),
        (VALID[:-3], "zlib"),
        (packed(b"RBK1"), "shorter than its header"),
        (packed(HEADER.pack(b"XXXX", 1, 1000, 0, 0)), "unknown format"),
        (packed(HEADER.pack(b"RBK1", 1, 1000, 0, 3), b"\x00\x02"), "truncated"),
        (packed(HEADER.pack(b"RBK1", 1, 1000, 0, 1), b"\x00\x00"), "trailing"),
        (packed(HEADER.pack(b"RBK1", 1, 1000, 0, 1), b"\xff" * 24 + b"\x01"), "overlong"),
        (packed(HEADER.pack(b"RBK1", 1, 1000, 0, 2), b"\x04\x00"), "ascending"),
        (packed(HEADER.pack(b"RBK1", -1, 1000, 0, 0)), "time base"),
        (packed(HEADER.pack(b"RBK1", 1, 1000, -5, 0)), "duration"),
    ],
)
def test_corrupt_blobs_raise_value_error(blob: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KeyframeIndex.unpack(blob)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_value_error(blob: bytes) -> None:
    with contextlib.suppress(ValueError):
        KeyframeIndex.unpack(blob)


@given(
    num=st.integers(min_value=1, max_value=INT64_MAX),
    den=st.integers(min_value=1, max_value=INT64_MAX),
    duration=st.integers(min_value=0, max_value=INT64_MAX),
    body=st.binary(max_size=64),
    count=st.integers(min_value=0, max_value=8),
)
def test_arbitrary_bodies_never_raise_anything_but_value_error(
    num: int, den: int, duration: int, body: bytes, count: int
) -> None:
    with contextlib.suppress(ValueError):
        KeyframeIndex.unpack(packed(HEADER.pack(b"RBK1", num, den, duration, count), body))


def test_zero_denominator_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        KeyframeIndex.unpack(packed(HEADER.pack(b"RBK1", 1, 0, 0, 0)))


def test_deltas_beyond_int63_round_trip() -> None:
    index = KeyframeIndex(Fraction(1, 90000), (-(2**62), 2**62), 0)
    assert KeyframeIndex.unpack(index.pack()) == index
