"""The session state machine, driven synchronously: messages in, effects out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.effects import SetTimer, Stop
from engine.sessions.session import (
    CancelPrefetch,
    CloseRequested,
    Heartbeat,
    IdleCheck,
    Prefetch,
    ProgressReported,
    SaveProgress,
    SegmentRequested,
    SessionConfig,
    SessionState,
    start,
    transition,
)

RENDITIONS = {"v0": "video", "720p": "video", "480p": "video", "a0": "audio", "s0": "subtitle"}
CONFIG = SessionConfig(prefetch=3, idle_timeout=60.0, save_every=10.0)


def new(count: int = 100) -> SessionState:
    state, effects = start(RENDITIONS, count, 0.0, CONFIG)
    assert effects == [SetTimer("idle", 60.0, IdleCheck())]
    return state


def test_playing_from_the_start_prefetches_the_next_segments() -> None:
    state, effects = transition(new(), SegmentRequested("720p", 0), 1.0)
    assert effects == [Prefetch("720p", 1), Prefetch("720p", 2), Prefetch("720p", 3)]
    # the player asks for 1, which is prefetched: only the window's new end is added
    state, effects = transition(state, SegmentRequested("720p", 1), 5.0)
    assert effects == [Prefetch("720p", 4)]
    assert state.watching == {"video": ("720p", 1)}


def test_a_seek_cancels_the_useless_prefetch() -> None:
    state, _ = transition(new(), SegmentRequested("720p", 0), 1.0)
    state, effects = transition(state, SegmentRequested("720p", 50), 2.0)
    assert effects == [
        CancelPrefetch("720p", 1),
        CancelPrefetch("720p", 2),
        CancelPrefetch("720p", 3),
        Prefetch("720p", 51),
        Prefetch("720p", 52),
        Prefetch("720p", 53),
    ]


def test_a_rendition_switch_moves_the_window() -> None:
    state, _ = transition(new(), SegmentRequested("720p", 10), 1.0)
    state, effects = transition(state, SegmentRequested("480p", 11), 2.0)
    assert effects == [
        CancelPrefetch("720p", 11),  # the player took 11 from 480p: 720p's 11 is not needed
        CancelPrefetch("720p", 12),
        CancelPrefetch("720p", 13),
        Prefetch("480p", 12),
        Prefetch("480p", 13),
        Prefetch("480p", 14),
    ]


def test_audio_has_its_own_window_and_leaves_video_alone() -> None:
    state, _ = transition(new(), SegmentRequested("720p", 0), 1.0)
    state, effects = transition(state, SegmentRequested("a0", 0), 1.1)
    assert effects == [Prefetch("a0", 1), Prefetch("a0", 2), Prefetch("a0", 3)]
    assert state.watching == {"video": ("720p", 0), "audio": ("a0", 0)}


def test_the_window_stops_at_the_last_segment_and_unknowns_are_ignored() -> None:
    state, effects = transition(new(count=5), SegmentRequested("v0", 3), 1.0)
    assert effects == [Prefetch("v0", 4)]
    assert transition(state, SegmentRequested("v0", 4), 2.0)[1] == []
    assert transition(state, SegmentRequested("nope", 1), 2.0)[1] == []
    assert transition(state, SegmentRequested("v0", 99), 2.0)[1] == []


def test_progress_is_saved_throttled_and_at_once_on_pause_and_jumps() -> None:
    state = new()
    state, effects = transition(state, ProgressReported(1_000_000), 1.0)
    assert effects == [SaveProgress(1_000_000)]  # the first report
    state, effects = transition(state, ProgressReported(3_000_000), 3.0)
    assert effects == []  # within 10 s of the last save
    state, effects = transition(state, ProgressReported(4_000_000, paused=True), 4.0)
    assert effects == [SaveProgress(4_000_000)]  # pause: save now
    state, effects = transition(state, ProgressReported(600_000_000), 5.0)
    assert effects == [SaveProgress(600_000_000)]  # a seek far away: save now
    state, effects = transition(state, ProgressReported(608_000_000), 16.0)
    assert effects == [SaveProgress(608_000_000)]  # 10 s passed


def test_idle_timeout_closes_and_activity_rearms() -> None:
    state = new()
    state, _ = transition(state, SegmentRequested("v0", 0), 30.0)
    state, _ = transition(state, ProgressReported(5_000_000), 31.0)
    state, effects = transition(state, IdleCheck(), 60.0)  # last seen at 31: not idle yet
    assert effects == [SetTimer("idle", 91.0, IdleCheck())]
    state, _ = transition(state, Heartbeat(), 80.0)
    state, effects = transition(state, IdleCheck(), 91.0)
    assert effects == [SetTimer("idle", 140.0, IdleCheck())]
    state, effects = transition(state, IdleCheck(), 140.0)
    assert effects == [
        CancelPrefetch("v0", 1),
        CancelPrefetch("v0", 2),
        CancelPrefetch("v0", 3),
        SaveProgress(5_000_000, final=True),
        Stop(),
    ]
    assert state.closed
    assert transition(state, SegmentRequested("v0", 1), 141.0) == (state, [])


def test_close_saves_the_last_position() -> None:
    state, _ = transition(new(), ProgressReported(7_000_000), 1.0)
    state, _ = transition(state, ProgressReported(8_000_000), 2.0)
    state, effects = transition(state, CloseRequested(), 3.0)
    assert effects == [SaveProgress(8_000_000, final=True), Stop()]


@given(st.lists(st.tuples(st.sampled_from(sorted(RENDITIONS)), st.integers(0, 40)), max_size=60))
def test_prefetch_effects_track_the_prefetched_set(requests: list[tuple[str, int]]) -> None:
    """Whatever the player does, the prefetched set is what Prefetch minus CancelPrefetch says,
    and never holds more than one window per kind."""
    state = new(count=40)
    live: set[tuple[str, int]] = set()
    for t, (rendition, n) in enumerate(requests):
        state, effects = transition(state, SegmentRequested(rendition, n), float(t))
        for effect in effects:
            if isinstance(effect, Prefetch):
                assert (effect.rendition, effect.n) not in live
                live.add((effect.rendition, effect.n))
            elif isinstance(effect, CancelPrefetch):
                live.discard((effect.rendition, effect.n))
        live -= {(r, k) for (r, k) in live if (r, k) not in state.prefetched}
        assert live == set(state.prefetched)
        per_kind: dict[str, int] = {}
        for r, _ in state.prefetched:
            per_kind[RENDITIONS[r]] = per_kind.get(RENDITIONS[r], 0) + 1
        assert all(count <= CONFIG.prefetch for count in per_kind.values())
