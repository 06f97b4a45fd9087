"""``lib.warm_cache``: a builder cached by its arguments, called under its own lock."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lib.warm_cache import warm_cache


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
