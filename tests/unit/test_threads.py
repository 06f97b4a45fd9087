"""``lib.threads``: a call in a daemon thread hands back its value or its exception (``Background``); a
builder cached by its arguments, called under its own lock (``warm_cache``); a bounded pool whose
threads are joined when it is left (``Pool``)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lib.errors import StorageError
from lib.threads import Background, Pool, warm_cache


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


def test_one_build_per_arguments_until_cleared() -> None:
    built: list[tuple[str, int]] = []

    @warm_cache(maxsize=2)
    def client(name: str, port: int) -> object:
        """Build a client."""
        built.append((name, port))
        return object()

    first = client("a", 1)
    assert client("a", 1) is first
    assert client("b", 1) is not first
    assert vars(client)["__name__"] == "client" and vars(client)["__doc__"] == "Build a client."
    client.cache_clear()
    assert client("a", 1) is not first
    assert built.count(("a", 1)) == 2


def test_threads_asking_at_once_share_one_build() -> None:
    started = threading.Event()
    builds: list[int] = []

    @warm_cache(maxsize=1)
    def slow(key: str) -> object:
        builds.append(1)
        started.set()
        time.sleep(0.05)  # wide enough for the other threads to ask while the first builds
        return object()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(slow, ["k"] * 8))
    assert started.is_set()
    assert len(builds) == 1
    assert all(result is results[0] for result in results)


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
