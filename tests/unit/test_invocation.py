"""The invocation's request id and deadline from SCF, Lambda and local contexts; bounded retries with jitter
within the remaining time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lib.errors import RelayError
from lib.invocation import LOCAL_TIME_LIMIT_S, Invocation, RetryPolicy, with_retries

ROOT = Path(__file__).resolve().parents[2]


class LambdaContext:
    aws_request_id = "aws-req-1"
    function_name = "relay"

    def get_remaining_time_in_millis(self) -> int:
        return 12_000


def test_scf_dict_context() -> None:
    """SCF's dict: request_id, and the deadline from time_limit_in_ms counted from the start."""
    inv = Invocation.from_context({"request_id": "scf-1", "time_limit_in_ms": 30000}, now=100.0)
    assert (inv.request_id, inv.deadline) == ("scf-1", 130.0)


def test_lambda_object_context() -> None:
    """Lambda's object: aws_request_id and get_remaining_time_in_millis()."""
    inv = Invocation.from_context(LambdaContext(), now=100.0)
    assert (inv.request_id, inv.deadline, inv.function_name) == ("aws-req-1", 112.0, "relay")


def test_no_context_runs_locally() -> None:
    """None (a local call) gets a generated id and the local time limit."""
    inv = Invocation.from_context(None, now=0.0)
    assert inv.request_id.startswith("local-") and inv.deadline == LOCAL_TIME_LIMIT_S


def test_garbage_context_values_fall_back() -> None:
    """A non-numeric time limit is not trusted."""
    inv = Invocation.from_context({"time_limit_in_ms": "soon"}, now=0.0)
    assert inv.deadline == LOCAL_TIME_LIMIT_S and inv.remaining() >= 0


# --- retries -----------------------------------------------------------------------------------------


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


JITTER = """
import json, sys, time
import lib.invocation as invocation
from lib.errors import RelayError
before = "random" in sys.modules
failures = [RelayError("x", retryable=True)]

def operation():
    if failures:
        raise failures.pop()
    return "ok"

answer = invocation.with_retries(
    operation, what="t", invocation=invocation.Invocation("t", time.monotonic() + 60), sleep=lambda s: None
)
print(json.dumps([before, answer, type(invocation._rng).__module__, "random" in sys.modules]))
"""


def test_the_jitter_source_is_made_at_the_first_retry() -> None:
    """A fresh interpreter: ``random`` is not loaded for the retries until one is needed; the first retry
    makes the shared source, from which every later delay draws."""
    done = subprocess.run(
        [sys.executable, "-c", JITTER], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, "ok", "random", True]
