"""lib.background: a call in a daemon thread hands back its value or its exception."""

from __future__ import annotations

import threading

import pytest

from lib.background import Background, Pool
from lib.errors import StorageError


def test_the_value_comes_back_from_another_thread() -> None:
    names: list[str] = []

    def call() -> int:
        names.append(threading.current_thread().name)
        return 42

    pending = Background(call, name="unit-call")
    assert pending.result() == 42 and names == ["unit-call"]


def test_the_exception_is_raised_by_result_and_wait_does_not_raise() -> None:
    def call() -> None:
        raise StorageError("down", code="ServiceUnavailable", retryable=True)

    pending = Background(call, name="unit-fail")
    assert pending.wait(timeout=5) is True
    with pytest.raises(StorageError) as raised:
        pending.result()
    assert raised.value.code == "ServiceUnavailable"


def test_wait_reports_a_call_still_running() -> None:
    release = threading.Event()
    pending = Background(lambda: release.wait(5), name="unit-slow")
    assert pending.wait(timeout=0.01) is False
    release.set()
    assert pending.result() is True


def test_a_pool_reports_a_call_still_running_and_takes_no_more_once_shut() -> None:
    release = threading.Event()
    pool = Pool(1, name="unit-bare")
    held = pool.submit(release.wait, 10)
    assert pool.wait(timeout=0) is False and pool.running  # shut down; the call goes on
    with pytest.raises(RuntimeError):
        pool.submit(lambda: "too late")
    release.set()
    assert (pool.wait(), pool.running, held.result()) == (True, False, True)
    assert not [t for t in threading.enumerate() if t.name.startswith("unit-bare")]


def test_a_pool_left_without_a_time_bound_waits_for_its_calls() -> None:
    with Pool(2, name="unit-unbounded") as pool:
        pending = [pool.submit(pow, n, 2) for n in range(4)]
    assert [p.result() for p in pending] == [0, 1, 4, 9] and not pool.running
