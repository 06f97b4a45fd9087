"""The helpers for the threads of a container: one call run in a daemon thread (``Background``), a
bounded pool of threads (``Pool``), and what a warm container builds once, under a lock, whatever
thread asks first (``warm_cache``).

``Background``: a cold start overlaps independent network round trips (a folder listing and its
manifest, the media pre-flight and the receipt's claim) instead of waiting for each in turn.

    pending = Background(lambda: storage.read(bucket, key), name="manifest")
    ...                        # other work, usually another network call
    data = pending.result()    # joins; returns what the call returned or raises what it raised

Whoever starts one joins it (``result`` or ``wait``) before the invocation returns: the platform may
freeze the process as soon as the handler answers. Started through ``Services.background``, it is also
one of the invocation's threads that the handler joins before it answers, whatever path the work took.

A ``Pool`` is for work that takes jobs as they come (the drainer's workers, receives and deletes):
at most ``width`` calls at once, each handed back as a ``Future``; ``first_done`` waits for whichever
ends first. Leaving it (``with``) waits for its calls within a time bound (the invocation's remaining
time, through ``Services.pool``), then joins its threads:

    with services.pool(4, name="drain-job") as jobs:
        running = {jobs.submit(process, job) for job in batch}
        done = first_done(running)

These are the only classes of lib that start threads (``tests/repo/test_threads.py``); everything
else asks its ``Services`` for them, so the handler can join all of an invocation's threads.

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
    from concurrent.futures import Future as Future  # imported when a pool is first made, never at import
    from concurrent.futures import ThreadPoolExecutor
    from types import TracebackType
    from typing import Generic, Protocol
else:
    Protocol = object

    class Generic:
        def __class_getitem__(cls, _parameters: Any) -> type:
            return cls


P = ParamSpec("P")
T = TypeVar("T")


class Joinable(Protocol):
    """A thread or a pool of them the invocation started: ``Background`` or ``Pool``."""

    def wait(self, timeout: float | None = None) -> bool: ...

    @property
    def running(self) -> bool: ...


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


class Pool:
    """At most ``width`` calls at once in threads of their own (a ``ThreadPoolExecutor`` named ``name``),
    each call's outcome a ``Future``. ``wait`` (and leaving a ``with`` block) waits for every call
    submitted, at most ``remaining()`` seconds, then shuts the pool down: its threads are joined when
    every call has ended; otherwise the calls not begun are cancelled and ``running`` says a call still
    runs. Leaving the block with an exception cancels the calls not begun first."""

    def __init__(self, width: int, *, name: str, remaining: Callable[[], float] | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        if width < 1:
            raise ValueError(f"a pool needs a width of at least 1, not {width}")
        self.width = width
        self._executor: ThreadPoolExecutor = ThreadPoolExecutor(width, thread_name_prefix=name)
        self._remaining = remaining  # None: leaving the block waits as long as the calls take
        self._futures: list[Future[Any]] = []  # submitted and not seen finished (pruned as they end)
        self._open = True  # until ``wait`` shuts the pool down
        self._lock = threading.Lock()

    def submit(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``call(*args, **kwargs)`` as soon as one of the ``width`` threads is free."""
        with self._lock:  # a call of the pool may submit too
            future = self._executor.submit(call, *args, **kwargs)
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(future)
        return future

    @property
    def running(self) -> bool:
        """True until the pool is shut down and every call submitted has ended (a cancelled one has)."""
        return self._open or any(not f.done() for f in self._futures)

    def cancel(self) -> None:
        """Cancel the calls not begun yet (those under way go on)."""
        for future in self._futures:
            future.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the calls (at most ``timeout`` seconds), then shut down: True when every call has
        ended and the threads are joined; False when one still runs (those not begun are cancelled)."""
        from concurrent.futures import wait

        _, running = wait(self._futures, timeout=timeout)
        self._open = False
        if running:
            self._executor.shutdown(wait=False, cancel_futures=True)  # a later ``wait`` may join them
            return False
        self._executor.shutdown(wait=True)  # every call has ended: the idle threads exit at once
        self._futures = []
        return True

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None:
            self.cancel()
        self.wait(None if self._remaining is None else max(0.0, self._remaining()))


def first_done(pending: Iterable[Future[Any]], timeout: float | None = None) -> set[Future[Any]]:
    """The futures of ``pending`` that have ended, once at least one has (or ``timeout`` has passed)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
    return done
