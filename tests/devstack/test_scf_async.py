"""The local model of SCF's async queue: FIFO, the reserved concurrency (overruns retried, never lost),
two retries of an execution error, then the dead-letter log in the documented form; the maximum wait."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from devstack.scf.async_queue import AsyncPolicy, AsyncQueue, Attempt, Outcome

FAST = 0.001  # a minute becomes 60 ms


class Function:
    """A fake function: records how many run at once; ``failures`` makes the first N calls of an event
    raise."""

    def __init__(self, failures: int = 0, duration: float = 0.005) -> None:
        self.failures = failures
        self.duration = duration
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.calls: dict[str, int] = {}

    def __call__(self, event: Any, context: dict[str, Any]) -> Outcome:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            n = self.calls[event["id"]] = self.calls.get(event["id"], 0) + 1
        time.sleep(self.duration)
        with self.lock:
            self.running -= 1
        if n <= self.failures:
            return Outcome(error=f"RuntimeError: attempt {n} failed", logs=("Traceback ...",))
        return Outcome(result={"id": event["id"]}, duration_ms=self.duration * 1000)


def run(function: Function, policy: AsyncPolicy, events: int) -> AsyncQueue:
    queue = AsyncQueue("element-relay", function, policy.scaled(FAST)).start()
    try:
        for index in range(events):
            queue.submit({"id": f"e{index}"}, trigger="cos")
        queue.wait_idle(timeout=60)
    finally:
        queue.stop()
    return queue


def test_a_burst_beyond_the_reserved_concurrency_is_retried_never_lost() -> None:
    function = Function(duration=0.01)
    queue = run(function, AsyncPolicy(reserved_concurrency=2), 60)
    stats = queue.stats()
    assert function.most <= 2
    assert sorted(function.calls) == sorted(f"e{i}" for i in range(60))
    assert set(function.calls.values()) == {1}  # each event ran once
    assert stats["succeeded"] == 60 and stats["dead_letters"] == 0 and stats["pending"] == 0
    assert stats["overruns"] > 0  # 432s were met and retried
    overruns = [a for a in queue.attempts if a.outcome == "overrun"]
    assert len(overruns) == stats["overruns"] and all(not a.final for a in overruns)
    assert all(a.error == "432 ResourceLimitReached" for a in overruns)


def test_an_execution_error_is_retried_twice_then_dead_lettered_as_documented() -> None:
    function = Function(failures=99)
    queue = run(function, AsyncPolicy(), 1)
    assert function.calls == {"e0": 3}  # the first try and SCF's 2 retries
    assert queue.stats()["retries"] == 2
    (letter,) = queue.dead_letters
    assert letter["ErrorCode"] == -1 and "attempt 3 failed" in letter["ErrorMessage"]
    assert json.loads(letter["Body"]["ClientContext"]) == {"id": "e0"}
    assert letter["Body"]["RetryNum"] == 2 and letter["Body"]["FunctionName"] == "element-relay"
    outcomes = [(a.outcome, a.final) for a in queue.attempts]
    assert outcomes == [("error", False), ("error", False), ("error", True)]


def test_a_failure_that_clears_within_the_retries_succeeds_once() -> None:
    function = Function(failures=2)
    queue = run(function, AsyncPolicy(retry_num=2), 1)
    assert function.calls == {"e0": 3} and queue.stats()["succeeded"] == 1 and not queue.dead_letters


def test_the_retry_count_is_the_policys() -> None:
    function = Function(failures=99)
    queue = run(function, AsyncPolicy(retry_num=0), 1)
    assert function.calls == {"e0": 1} and len(queue.dead_letters) == 1


def test_an_event_older_than_the_maximum_wait_is_dead_lettered_without_a_run() -> None:
    function = Function()
    policy = AsyncPolicy(reserved_concurrency=0, msg_ttl=0.2)  # no instance ever: overruns until expiry
    queue = run(function, policy, 1)
    assert function.calls == {}
    (letter,) = queue.dead_letters
    assert "maximum wait time" in letter["ErrorMessage"]
    assert queue.stats()["overruns"] >= 1


def test_events_run_first_in_first_out() -> None:
    order: list[int] = []

    def function(event: Any, context: dict[str, Any]) -> Outcome:
        order.append(event["id"])
        return Outcome()

    queue = AsyncQueue("f", function, AsyncPolicy(reserved_concurrency=1).scaled(FAST))
    for index in range(5):
        queue.submit({"id": index}, trigger="timer")
    queue.start()
    queue.wait_idle(timeout=30)
    queue.stop()
    assert order == [0, 1, 2, 3, 4]


def test_listeners_see_every_attempt_and_a_broken_one_stops_nothing() -> None:
    seen: list[Attempt] = []

    def broken(attempt: Attempt) -> None:
        raise RuntimeError("listener bug")

    queue = AsyncQueue("f", Function(), AsyncPolicy().scaled(FAST))
    queue.subscribe(broken)
    queue.subscribe(seen.append)
    queue.start()
    request_id = queue.submit({"id": "x"}, trigger="cos")
    queue.wait_idle(timeout=30)
    queue.stop()
    assert [(a.request_id, a.outcome, a.final, a.trigger) for a in seen] == [(request_id, "ok", True, "cos")]


def test_wait_idle_names_what_is_left() -> None:
    queue = AsyncQueue("f", Function(), AsyncPolicy(reserved_concurrency=0))  # never started
    queue.submit({"id": "x"}, trigger="cos")
    with pytest.raises(TimeoutError, match="1 event"):
        queue.wait_idle(timeout=0.05)


def test_scaling_keeps_the_documented_ratios() -> None:
    policy = AsyncPolicy().scaled(1 / 60)
    assert (policy.retry_interval, policy.overrun_interval, policy.msg_ttl) == (1.0, 1.0, 6 * 3600.0)
    assert policy.retry_num == 2  # and the maximum wait is SCF's default, 6 hours
