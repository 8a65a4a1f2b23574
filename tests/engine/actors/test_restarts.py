"""RestartPolicy is pure: the backoff sequence, the window and the give-up point, table-driven."""

from __future__ import annotations

import pytest

from engine.actors import RestartPolicy


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RestartPolicy(base=0.1, factor=2, cap=30), [0.1, 0.2, 0.4, 0.8, 1.6]),
        (RestartPolicy(base=1, factor=3, cap=10), [1, 3, 9, 10, 10]),
        (RestartPolicy(base=0, factor=2, cap=1), [0, 0, 0, 0, 0]),
        (RestartPolicy(base=2, factor=1, cap=2), [2, 2, 2, 2, 2]),
    ],
)
def test_delays_grow_exponentially_up_to_the_cap(
    policy: RestartPolicy, expected: list[float]
) -> None:
    assert [policy.delay(n) for n in range(1, 6)] == pytest.approx(expected)


def test_huge_attempts_stay_at_the_cap() -> None:
    assert RestartPolicy(base=1, factor=10, cap=60).delay(10_000) == 60


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 4.0), (0.5, 3.0), (0.999, 2.002)])
def test_jitter_shortens_by_up_to_its_fraction(draw: float, expected: float) -> None:
    assert RestartPolicy(base=4, cap=4, jitter=0.5).delay(1, draw) == pytest.approx(expected)


def test_crashes_within_the_window_escalate_after_max_restarts() -> None:
    policy = RestartPolicy(max_restarts=3, window=10, base=1, factor=2, cap=8)
    history: tuple[float, ...] = ()
    delays = []
    for now in [0, 1, 3]:
        history, delay = policy.after_crash(history, now)
        delays.append(delay)
    assert delays == [1, 2, 4]
    history, delay = policy.after_crash(history, 7)
    assert delay is None  # four crashes within 10 s: more than three restarts
    assert history == (0, 1, 3, 7)


def test_old_crashes_leave_the_window_and_the_backoff_starts_over() -> None:
    policy = RestartPolicy(max_restarts=2, window=10, base=1, factor=2, cap=8)
    history, delay = policy.after_crash((), 0)
    history, delay = policy.after_crash(history, 5)
    assert (history, delay) == ((0, 5), 2)
    history, delay = policy.after_crash(history, 12)  # the crash at 0 is out of the window
    assert (history, delay) == ((5, 12), 2)
    history, delay = policy.after_crash(history, 30)
    assert (history, delay) == ((30,), 1)


def test_zero_restarts_gives_up_at_the_first_crash() -> None:
    assert RestartPolicy(max_restarts=0).after_crash((), 0) == ((0,), None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_restarts": -1},
        {"window": 0},
        {"base": -1},
        {"factor": 0.5},
        {"base": 5, "cap": 1},
        {"jitter": 1.5},
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]
