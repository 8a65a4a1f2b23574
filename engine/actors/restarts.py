"""Restart policy: when a crashed child comes back, and when its supervisor gives up. Pure.

``RestartPolicy.after_crash(history, now, draw)`` takes the times of the child's earlier crashes
and returns the crashes still inside the window plus either the delay before the restart or
``None`` (give up: more than ``max_restarts`` crashes within ``window`` seconds).

The delay grows exponentially with the number of crashes inside the window,
``base * factor ** (n - 1)`` capped at ``cap``, so a child that has been healthy for a window
starts again from ``base``. ``jitter`` (0..1) shortens each delay by up to that fraction, by
``draw`` (a uniform number in [0, 1) the caller supplies: seeded under test, so deterministic),
which spreads the restarts of many children that crashed together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    max_restarts: int = 5  # crashes allowed within the window; one more and the supervisor gives up
    window: float = 60.0  # seconds
    base: float = 0.1  # delay before the first restart, seconds
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0 or self.window <= 0:
            raise ValueError("max_restarts must be >= 0 and window > 0")
        if self.base < 0 or self.factor < 1 or self.cap < self.base:
            raise ValueError("need 0 <= base <= cap and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction in [0, 1]")

    def after_crash(
        self, history: tuple[float, ...], now: float, draw: float = 0.0
    ) -> tuple[tuple[float, ...], float | None]:
        """The crash times to remember, and the delay before restarting (``None``: give up)."""
        recent = (*(t for t in history if now - t < self.window), now)
        if len(recent) > self.max_restarts:
            return recent, None
        return recent, self.delay(len(recent), draw)

    def delay(self, attempt: int, draw: float = 0.0) -> float:
        """Delay before restart number ``attempt`` (1-based) within the window."""
        exponent = max(attempt - 1, 0)
        try:
            raw = self.base * self.factor**exponent
        except OverflowError:  # far past the cap anyway
            raw = self.cap
        return min(self.cap, raw) * (1 - self.jitter * draw)
