"""A playback session as a pure state machine: ``transition(state, msg, now)``.

The session follows the player: every segment it fetches says which rendition it watches and
where. From that the session keeps a prefetch window of the next ``prefetch`` segments of that
rendition, cancels prefetch a seek or a rendition switch made useless, saves the playback
position (throttled, and at once on pause or close), and ends itself when the player has been
silent for ``idle_timeout`` seconds. It decides; the actor shell executes ``Prefetch``,
``CancelPrefetch`` and ``SaveProgress`` and the built-in timer and stop effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from engine.effects import SetTimer, Stop

IDLE_TIMER = "idle"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    prefetch: int = 3
    idle_timeout: float = 60.0
    # Progress reports are saved at most this often, except on pause, seek and close.
    save_every: float = 10.0


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentRequested:
    """The player fetched segment ``n`` of ``rendition``."""

    rendition: str
    n: int


@dataclass(frozen=True, slots=True)
class ProgressReported:
    position_us: int
    paused: bool = False


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class IdleCheck:
    pass


@dataclass(frozen=True, slots=True)
class CloseRequested:
    pass


Message = SegmentRequested | ProgressReported | Heartbeat | IdleCheck | CloseRequested


# --- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prefetch:
    rendition: str
    n: int


@dataclass(frozen=True, slots=True)
class CancelPrefetch:
    rendition: str
    n: int


@dataclass(frozen=True, slots=True)
class SaveProgress:
    position_us: int
    final: bool = False


Effect = Prefetch | CancelPrefetch | SaveProgress | SetTimer[Message] | Stop


# --- state --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionState:
    # rendition id -> its kind ("video", "audio", "subtitle"); segment counts are shared
    renditions: Mapping[str, str]
    segment_count: int
    config: SessionConfig = field(default_factory=SessionConfig)
    # the rendition watched per kind, and the last segment fetched of it
    watching: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    prefetched: frozenset[tuple[str, int]] = frozenset()
    position_us: int | None = None
    saved_position_us: int | None = None
    saved_at: float | None = None
    last_seen: float = 0.0
    closed: bool = False

    def window(self, rendition: str, n: int) -> frozenset[tuple[str, int]]:
        last = min(self.segment_count, n + 1 + self.config.prefetch)
        return frozenset((rendition, k) for k in range(n + 1, last))


def start(
    renditions: Mapping[str, str], segment_count: int, now: float, config: SessionConfig
) -> tuple[SessionState, list[Effect]]:
    """A new session, and its first effects (the idle timer)."""
    state = SessionState(
        renditions=dict(renditions), segment_count=segment_count, config=config, last_seen=now
    )
    return state, [_arm(state)]


def transition(state: SessionState, msg: Message, now: float) -> tuple[SessionState, list[Effect]]:
    if state.closed:
        return state, []
    match msg:
        case SegmentRequested(rendition=rendition, n=n):
            return _segment(replace(state, last_seen=now), rendition, n)
        case ProgressReported(position_us=position, paused=paused):
            return _progress(replace(state, last_seen=now), position, paused, now)
        case Heartbeat():
            return replace(state, last_seen=now), []
        case IdleCheck():
            if now - state.last_seen >= state.config.idle_timeout:
                return _close(state)
            return state, [_arm(state)]
        case CloseRequested():
            return _close(state)
    raise TypeError(f"not a session message: {msg!r}")


def _arm(state: SessionState) -> SetTimer[Message]:
    return SetTimer(IDLE_TIMER, state.last_seen + state.config.idle_timeout, IdleCheck())


def _segment(state: SessionState, rendition: str, n: int) -> tuple[SessionState, list[Effect]]:
    kind = state.renditions.get(rendition)
    if kind is None or not 0 <= n < state.segment_count:
        return state, []  # the route already answered 404; nothing to plan around
    effects: list[Effect] = []
    wanted = state.window(rendition, n)
    # Prefetch of this kind that the new window does not cover is no longer useful: a seek
    # moved away from it, or the player switched renditions (ABR).
    stale = sorted(
        (r, k)
        for (r, k) in state.prefetched
        if state.renditions.get(r) == kind and (r, k) not in wanted and (r, k) != (rendition, n)
    )
    effects.extend(CancelPrefetch(r, k) for r, k in stale)
    fresh = sorted(wanted - state.prefetched)
    effects.extend(Prefetch(r, k) for r, k in fresh)
    prefetched = (state.prefetched - set(stale) - {(rendition, n)}) | wanted
    watching = {**state.watching, kind: (rendition, n)}
    return replace(state, prefetched=frozenset(prefetched), watching=watching), effects


def _progress(
    state: SessionState, position: int, paused: bool, now: float
) -> tuple[SessionState, list[Effect]]:
    state = replace(state, position_us=position)
    jumped = state.saved_position_us is not None and abs(position - state.saved_position_us) > (
        state.config.save_every * 2 * 1_000_000
    )
    due = state.saved_at is None or now - state.saved_at >= state.config.save_every
    if position == state.saved_position_us or not (paused or jumped or due):
        return state, []
    return replace(state, saved_position_us=position, saved_at=now), [SaveProgress(position)]


def _close(state: SessionState) -> tuple[SessionState, list[Effect]]:
    effects: list[Effect] = [CancelPrefetch(r, k) for r, k in sorted(state.prefetched)]
    if state.position_us is not None:
        effects.append(SaveProgress(state.position_us, final=True))
    effects.append(Stop())
    return replace(state, closed=True, prefetched=frozenset()), effects
