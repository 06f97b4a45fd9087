"""What a warm container builds once and keeps: SDK clients and rate limiters, cached by their arguments.

    @warm_cache(maxsize=8)
    def _build(region: str, endpoint: str | None) -> Client: ...

is ``functools.lru_cache`` with every call made under the function's own lock, so that two threads of
one invocation never build the same client twice (botocore's client creation is not thread-safe, and a
limiter must be one per quota). ``cache_clear`` forgets what was built (a test's new container).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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
