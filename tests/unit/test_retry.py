"""Bounded retries with jitter within the remaining time."""

from __future__ import annotations

import time

import pytest

from lib.errors import RelayError
from lib.invocation import Invocation
from lib.retry import RetryPolicy, with_retries


def flaky(failures: list[RelayError]) -> tuple[list[int], object]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return calls, operation


def roomy() -> Invocation:
    return Invocation("t", time.monotonic() + 60)


def test_transient_errors_are_retried_until_success() -> None:
    """Two retryable failures, then success: the success is returned (unlike the SDK's retryer)."""
    calls, op = flaky([RelayError("x", retryable=True), RelayError("y", retryable=True)])
    slept: list[float] = []
    assert with_retries(op, what="t", invocation=roomy(), sleep=slept.append) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3 and len(slept) == 2


def test_permanent_errors_are_not_retried() -> None:
    """A permanent error is raised at once."""
    calls, op = flaky([RelayError("bad", retryable=False)])
    with pytest.raises(RelayError):
        with_retries(op, what="t", invocation=roomy(), sleep=lambda s: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_attempts_are_bounded() -> None:
    """After the policy's attempts the last error is raised."""
    calls, op = flaky([RelayError(str(i), retryable=True) for i in range(10)])
    with pytest.raises(RelayError, match="2"):
        with_retries(op, what="t", invocation=roomy(), policy=RetryPolicy(attempts=3), sleep=lambda s: None)  # type: ignore[arg-type]
    assert len(calls) == 3


def test_no_attempt_without_time_left() -> None:
    """With the deadline close, the error is raised instead of sleeping past it."""
    calls, op = flaky([RelayError("x", retryable=True), RelayError("y", retryable=True)])
    short = Invocation("t", time.monotonic() + 1.2)
    with pytest.raises(RelayError):
        with_retries(op, what="t", invocation=short, sleep=lambda s: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_jitter_stays_under_the_cap() -> None:
    """Full jitter: every delay lies in [0, min(cap, base * 2**n)]."""
    import random

    policy, rng = RetryPolicy(base_delay=0.1, max_delay=1.0), random.Random(7)
    for attempt in range(10):
        assert 0.0 <= policy.delay(attempt, rng) <= min(1.0, 0.1 * 2**attempt)
