from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import CorruptSource, NotFound
from engine.segmenter.keyframes import KeyframeIndex
from engine.segmenter.planner import (
    AAC_FRAME_SAMPLES,
    VIDEO_TIMESCALE,
    decode_times,
    plan_boundaries,
    plan_segment,
    segment_count,
    segment_durations,
    segment_for_time,
    total_duration,
)

MS = Fraction(1, 1000)
F = Fraction


def ms_index(keyframes_s: list[float], end_s: float) -> KeyframeIndex:
    """Keyframes and stream end given in seconds, stored in milliseconds."""
    pts = tuple(round(k * 1000) for k in keyframes_s)
    return KeyframeIndex(time_base=MS, pts=pts, duration=round(end_s * 1000) - pts[0])


def seconds(boundaries: tuple[int, ...]) -> list[float]:
    return [b / 1000 for b in boundaries]


@pytest.mark.parametrize(
    ("keyframes", "end", "kwargs", "expected"),
    [
        # 2 s GOPs merge into 6 s segments; the last one ends at the stream end.
        ([0, 2, 4, 6, 8, 10, 12, 14, 16], 18, {}, [0, 6, 12, 18]),
        # A 0.2 s remainder joins the last segment instead of standing alone.
        ([0, 2, 4, 6, 8, 10, 12], 12.2, {}, [0, 6, 12.2]),
        # 12 would leave 2.9 s (under the 3 s minimum): 10 is the nearest keyframe that does not.
        ([0, 2, 4, 6, 8, 10, 12], 14.9, {}, [0, 6, 10, 14.9]),
        ([0, 6, 12], 14.9, {}, [0, 6, 14.9]),
        ([0, 2, 4, 6, 8, 10, 12], 15, {}, [0, 6, 12, 15]),
        # One 30 s GOP: never split inside it.
        ([0, 30], 60, {}, [0, 30, 60]),
        ([0], 45, {}, [0, 45]),
        # 2.5 s GOPs: the keyframe nearest 6 s (5 s beats 7.5 s).
        ([0, 2.5, 5, 7.5, 10, 12.5, 15], 17.5, {}, [0, 5, 10, 17.5]),
        # Ties (5 and 7 around 6) go to the shorter segment.
        ([0, 5, 7, 12, 14], 20, {}, [0, 5, 12, 20]),
        # A short first segment for a fast start, then the target.
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 14, {"first_target": F(2)}, [0, 2, 8, 14]),
        # First target 2 s with 1.5 s GOPs: 1.5 s is nearer than 3 s.
        ([0, 1.5, 3, 4.5, 6, 7.5, 9], 10.5, {"first_target": F(2)}, [0, 1.5, 7.5, 10.5]),
        # Target 4 s.
        ([0, 2, 4, 6, 8, 10], 12, {"target": F(4)}, [0, 4, 8, 12]),
        # A stream shorter than the minimum is one segment.
        ([0], 1, {}, [0, 1]),
        ([0, 0.5], 1, {}, [0, 1]),
        # The first keyframe need not be at zero; keyframes at or past the end are ignored.
        ([10, 12, 14, 16, 18, 20], 19, {}, [10, 16, 19]),
        ([1.001, 3.003, 5.005, 7.007, 9.009], 13.013, {}, [1.001, 7.007, 13.013]),
        # Dense keyframes (every frame): exact targets; 18 would leave 2 s, 17 leaves the minimum.
        ([i / 25 for i in range(25 * 20)], 20, {}, [0, 6, 12, 17, 20]),
        ([i / 25 for i in range(25 * 20)], 19, {}, [0, 6, 12, 19]),
    ],
)
def test_boundaries_table(
    keyframes: list[float], end: float, kwargs: dict[str, Fraction], expected: list[float]
) -> None:
    assert seconds(plan_boundaries(ms_index(keyframes, end), **kwargs)) == expected


def test_invalid_arguments() -> None:
    index = ms_index([0, 2], 4)
    with pytest.raises(ValueError, match="target"):
        plan_boundaries(index, target=F(0))
    with pytest.raises(ValueError, match="minimum"):
        plan_boundaries(index, minimum=F(7))
    with pytest.raises(ValueError, match="first_target"):
        plan_boundaries(index, first_target=F(-1))
    with pytest.raises(CorruptSource):
        plan_boundaries(KeyframeIndex(time_base=MS, pts=(), duration=0))
    with pytest.raises(CorruptSource):
        plan_boundaries(KeyframeIndex(time_base=MS, pts=(5,), duration=0))


def test_segment_plan() -> None:
    boundaries = (1000, 7000, 13000, 15000)
    first = plan_segment(boundaries, 0, time_base=MS)
    assert (first.start, first.end, first.seek, first.stop) == (1000, 7000, None, 7000)
    assert first.duration == 6 and first.offset == 0 and not first.is_last
    last = plan_segment(boundaries, 2, time_base=MS)
    assert (last.start, last.end, last.seek, last.stop, last.is_last) == (
        13000,
        15000,
        13000,
        None,
        True,
    )
    assert last.duration == 2 and last.offset == 12
    for n in (-1, 3):
        with pytest.raises(NotFound):
            plan_segment(boundaries, n, time_base=MS)
    assert segment_count(boundaries) == 3
    assert total_duration(boundaries, time_base=MS) == 14
    assert segment_durations(boundaries, time_base=MS) == (F(6), F(6), F(2))


@pytest.mark.parametrize(
    ("ticks", "segment"),
    [
        (-5, 0),
        (999, 0),
        (1000, 0),
        (6999, 0),
        (7000, 1),
        (12999, 1),
        (13000, 2),
        (15000, 2),
        (10**9, 2),
    ],
)
def test_segment_for_time(ticks: int, segment: int) -> None:
    assert segment_for_time((1000, 7000, 13000, 15000), ticks) == segment


def test_segment_for_time_without_segments() -> None:
    with pytest.raises(NotFound):
        segment_for_time((), 0)


@pytest.mark.parametrize(
    ("time_base", "boundaries", "scale", "expected"),
    [
        (MS, (0, 6000, 12000), (90000, 1, 0), (0, 540000, 1080000)),
        (MS, (1000, 7000), (90000, 1, 1000), (0, 540000)),
        # 1/12800 (a 25 fps mp4): 1 tick = 7.03 ticks of 90 kHz, rounded half up like av_rescale.
        (F(1, 12800), (0, 1, 3, 76800), (90000, 1, 0), (0, 7, 21, 540000)),
        # AAC at 48 kHz: 6 s = 288000 samples = 281.25 frames -> the next whole frame.
        (MS, (0, 6000, 12000), (48000, 1024, 0), (0, 288768, 576512)),
        (F(1, 90000), (0, 540000, 1080000), (44100, 1024, 0), (0, 265216, 529408)),
    ],
)
def test_decode_times(
    time_base: Fraction,
    boundaries: tuple[int, ...],
    scale: tuple[int, int, int],
    expected: tuple[int, ...],
) -> None:
    timescale, frame, origin = scale
    got = decode_times(
        boundaries, time_base=time_base, timescale=timescale, frame_duration=frame, origin=origin
    )
    assert got == expected
    for n in range(len(boundaries) - 1):
        plan = plan_segment(boundaries, n, time_base=time_base)
        window = plan.decode_window(timescale, frame_duration=frame, origin=origin)
        assert window == (got[n], got[n + 1])


def test_decode_times_reject_a_time_before_the_origin() -> None:
    with pytest.raises(ValueError, match="before the origin"):
        decode_times((-3000, 3000), time_base=MS, timescale=90000)


# --- properties -----------------------------------------------------------------------------

TIME_BASES = st.sampled_from([F(1, 90000), F(1, 1000), F(1, 12800), F(1001, 24000), F(1, 48000)])
TARGETS = st.sampled_from([F(4), F(5), F(6), F(9, 2)])


@st.composite
def indexes(draw: st.DrawFn) -> KeyframeIndex:
    time_base = draw(TIME_BASES)
    per_second = 1 / time_base
    start = draw(st.integers(-(10**6), 10**9))
    gaps = draw(
        st.lists(
            st.one_of(
                st.integers(1, int(per_second * 3)),  # typical GOPs up to 3 s
                st.integers(1, int(per_second * 40) + 1),  # long GOPs
            ),
            max_size=60,
        )
    )
    pts = [start]
    for gap in gaps:
        pts.append(pts[-1] + gap)
    duration = pts[-1] - start + draw(st.integers(1, int(per_second * 10) + 1))
    return KeyframeIndex(time_base=time_base, pts=tuple(pts), duration=duration)


@given(
    index=indexes(),
    target=TARGETS,
    first=st.one_of(st.none(), st.sampled_from([F(1), F(2), F(3)])),
)
def test_boundaries_tile_the_stream(
    index: KeyframeIndex, target: Fraction, first: Fraction | None
) -> None:
    b = plan_boundaries(index, target=target, first_target=first)
    assert b == plan_boundaries(index, target=target, first_target=first)  # deterministic
    end = index.pts[0] + index.duration
    keyframes = set(index.pts)
    # Tiles [pts[0], end): strictly ascending (no empty segment), first keyframe to the end.
    assert b[0] == index.pts[0] and b[-1] == end
    assert all(a < c for a, c in itertools.pairwise(b))
    assert all(x in keyframes for x in b[:-1])
    tb = index.time_base
    minimum = target / 2
    first_minimum = min(minimum, (first or target) / 2)
    durations = segment_durations(b, time_base=tb)
    assert sum(durations) == index.duration * tb
    if len(durations) > 1:
        # No segment under the minimum; the first has its own minimum.
        assert durations[0] >= first_minimum
        assert all(d >= minimum for d in durations[1:])
    for n, s in enumerate(b[:-1]):
        aim = s + ((first or target) if n == 0 else target) / tb
        low = s + (first_minimum if n == 0 else minimum) / tb
        high = end - minimum / tb
        # The chosen boundary is the nearest candidate to the aim (near the target).
        chosen = abs(b[n + 1] - aim)
        candidates = [k for k in index.pts if low <= k <= high] + [end]
        assert chosen == min(abs(k - aim) for k in candidates)
        # A segment longer than the target has no keyframe inside it that could have ended it
        # nearer the target.
        assert all(
            abs(k - aim) >= chosen for k in index.pts if s < k < b[n + 1] and k >= low and k <= high
        )


@given(index=indexes(), data=st.data())
def test_segment_for_time_agrees_with_plans(index: KeyframeIndex, data: st.DataObject) -> None:
    b = plan_boundaries(index)
    end = b[-1]
    t = data.draw(st.integers(b[0], end - 1))
    n = segment_for_time(b, t)
    plan = plan_segment(b, n, time_base=index.time_base)
    assert plan.start <= t < plan.end


@given(
    index=indexes(),
    timescale=st.sampled_from([VIDEO_TIMESCALE, 48000, 44100, 1000]),
    frame=st.sampled_from([1, AAC_FRAME_SAMPLES, 1536]),
)
def test_decode_times_are_continuous(index: KeyframeIndex, timescale: int, frame: int) -> None:
    b = plan_boundaries(index)
    times = decode_times(
        b, time_base=index.time_base, timescale=timescale, frame_duration=frame, origin=b[0]
    )
    assert times[0] == 0
    assert all(t % frame == 0 for t in times)
    assert all(a <= c for a, c in itertools.pairwise(times))
    windows = [
        plan_segment(b, n, time_base=index.time_base).decode_window(
            timescale, frame_duration=frame, origin=b[0]
        )
        for n in range(segment_count(b))
    ]
    # Each fragment starts where the previous one ended, and the whole matches the timeline.
    assert all(w[1] == nxt[0] for w, nxt in itertools.pairwise(windows))
    exact = (b[-1] - b[0]) * index.time_base * timescale
    assert abs(times[-1] - exact) <= frame
