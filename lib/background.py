"""One call run in a daemon thread while the caller goes on: a cold start overlaps independent network
round trips (a folder listing and its manifest, the media pre-flight and the receipt's claim) instead of
waiting for each in turn.

    pending = Background(lambda: storage.read(bucket, key), name="manifest")
    ...                        # other work, usually another network call
    data = pending.result()    # joins; returns what the call returned or raises what it raised

Whoever starts one joins it (``result`` or ``wait``) before the invocation returns: the platform may
freeze the process as soon as the handler answers. Started through ``Services.background``, it is also
one of the invocation's threads that the handler joins before it answers, whatever path the work took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Starter(Protocol):
    """Starts ``call`` in the background: ``Background`` itself, or ``Services.background``."""

    def __call__(self, call: Callable[[], T], *, name: str) -> Background[T]: ...


class Mapper(Protocol):
    """Runs ``call`` over ``items`` in threads, results in the items' order: ``in_threads`` itself, or
    ``Services.map``."""

    def __call__(self, call: Callable[[T], R], items: Iterable[T], *, width: int, name: str) -> list[R]: ...


class Background(Generic[T]):
    """``call()`` running in its own daemon thread; ``result`` hands back its return value or exception."""

    def __init__(self, call: Callable[[], T], *, name: str) -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to whoever asks for the result, in its own thread
            self._error = exc

    def wait(self, timeout: float | None = None) -> bool:
        """Join the thread (at most ``timeout`` seconds); True when the call has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self) -> T:
        """Join the thread; what the call returned, or raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by _run whenever no error was kept


def in_threads(
    call: Callable[[T], R], items: Iterable[T], *, width: int, name: str, start: Starter | None = None
) -> list[R]:
    """``call`` over ``items``, at most ``width`` at once, each thread started by ``start`` (``Background``
    unless given); results in the items' order, the first error (in the items' order) raised once every
    thread has ended. One item or a width of 1: no thread. Plain threads, not ``concurrent.futures``:
    its import (some 8 ms of a cold start) would delay the round trip these threads are for."""
    todo = list(items)
    width = min(width, len(todo))
    if width <= 1:
        return [call(item) for item in todo]
    results: list[Any] = [None] * len(todo)
    errors: dict[int, BaseException] = {}
    taken = iter(range(len(todo)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(taken, None)
            if index is None:
                return
            try:
                results[index] = call(todo[index])
            except BaseException as exc:  # raised below, in the caller's thread
                errors[index] = exc

    begin: Starter = Background if start is None else start
    workers = [begin(work, name=f"{name}-{n}") for n in range(width)]
    for worker in workers:
        worker.result()
    if errors:
        raise errors[min(errors)]
    return results
