"""The two helpers for the threads of a container: one call run in a daemon thread (``Background``), and
what a warm container builds once, under a lock, whatever thread asks first (``warm_cache``).

``Background``: a cold start overlaps independent network round trips (a folder listing and its
manifest, the media pre-flight and the receipt's claim) instead of waiting for each in turn.

    pending = Background(lambda: storage.read(bucket, key), name="manifest")
    ...                        # other work, usually another network call
    data = pending.result()    # joins; returns what the call returned or raises what it raised

Whoever starts one joins it (``result`` or ``wait``) before the invocation returns: the platform may
freeze the process as soon as the handler answers. Started through ``Services.background``, it is also
one of the invocation's threads that the handler joins before it answers, whatever path the work took.

``warm_cache``: SDK clients and rate limiters, cached by their arguments.

    @warm_cache(maxsize=8)
    def _build(region: str, endpoint: str | None) -> Client: ...

is ``functools.lru_cache`` with every call made under the function's own lock, so that two threads of
one invocation never build the same client twice (botocore's client creation is not thread-safe, and a
limiter must be one per quota). ``cache_clear`` forgets what was built (a test's new container).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

# A seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper. So are the
# type parameters of the two classes below: at run time ``Generic[...]`` is a plain base too (subscripting
# names the class itself), some 80 us a class cheaper than typing's.
if TYPE_CHECKING:
    from typing import Generic, Protocol
else:
    Protocol = object

    class Generic:
        def __class_getitem__(cls, _parameters: Any) -> type:
            return cls


P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class Starter(Protocol):
    """Starts ``call`` in the background: ``Background`` itself, or ``Services.background``."""

    def __call__(self, call: Callable[[], T], *, name: str) -> Background[T]: ...


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


class WarmCache(Generic[P, T]):
    """``build`` cached by its (hashable) arguments, called under one lock."""

    def __init__(self, build: Callable[P, T], maxsize: int) -> None:
        cached = functools.lru_cache(maxsize=maxsize)(build)
        self._cached: Callable[..., T] = cached  # its arguments are hashable: they are the key
        self._clear = cached.cache_clear
        self._lock = threading.Lock()
        functools.update_wrapper(self, build)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            return self._cached(*args, **kwargs)

    def cache_clear(self) -> None:
        with self._lock:
            self._clear()


def warm_cache(maxsize: int) -> Callable[[Callable[P, T]], WarmCache[P, T]]:
    """Decorate a builder: see the module's docstring."""
    return lambda build: WarmCache(build, maxsize)
