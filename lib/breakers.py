"""Circuit breakers per webhook destination (scheme, host and port), for the pull cycle's relays
(``lib.vod.completion``): a destination that keeps failing is backed off, and never delays another.

A destination whose attempts fail ``FAILURES_TO_OPEN`` times in a row is backed off: for
``cooldown`` seconds no attempt goes to it (its events are left unconfirmed at VOD, which offers them
again after 30 s), then one delivery may try it (half-open): a success closes the breaker, a failure
opens it again for twice as long, up to ``MAX_COOLDOWN_S``. Other destinations never wait for it.

Where the state lives: in the warm container (``DESTINATIONS``), shared by its invocations and
threads. A cold container starts with every breaker closed and learns again, at a cost of
``FAILURES_TO_OPEN`` attempts per dead destination. Nothing is lost either way: a completion is
confirmed to VOD only once its webhook acknowledged it, and VOD keeps unconfirmed events (4 days).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from lib.errors import WebhookError
from lib.webhook_client import WebhookClient

FAILURES_TO_OPEN = 3
FIRST_COOLDOWN_S = 30.0  # VOD offers an unconfirmed event again after 30 s: one try per cycle, then less
MAX_COOLDOWN_S = 900.0


def destination(url: str) -> str:
    """The key of a URL's breaker: ``scheme://host:port``, host in lower case."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    return f"{scheme}://{(parts.hostname or '').rstrip('.')}:{port or (443 if scheme == 'https' else 80)}"


@dataclass
class _State:
    failures: int = 0  # consecutive failed attempts
    opened: int = 0  # consecutive openings (the cooldown doubles with each)
    until: float = 0.0  # closed to attempts until then (monotonic)
    probing: bool = False  # a half-open trial is under way


class Breakers:
    """The breakers of a container; thread-safe. ``clock``: monotonic seconds (tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}
        self.clock = clock

    def allow(self, key: str) -> bool:
        """True when an attempt may go to ``key`` now (closed, or the one trial of a half-open one)."""
        with self._lock:
            state = self._states.get(key)
            if state is None or state.failures < FAILURES_TO_OPEN:
                return True
            if self.clock() < state.until or state.probing:
                return False
            state.probing = True
            return True

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    def failed(self, key: str) -> None:
        with self._lock:
            state = self._states.setdefault(key, _State())
            state.failures += 1
            if state.failures >= FAILURES_TO_OPEN and (state.probing or state.until <= self.clock()):
                state.until = self.clock() + min(MAX_COOLDOWN_S, FIRST_COOLDOWN_S * 2**state.opened)
                state.opened += 1
                state.probing = False

    def reset(self) -> None:
        """Every breaker closed (a fresh container)."""
        with self._lock:
            self._states.clear()

    def backed_off(self, key: str) -> float:
        """Seconds until ``key`` may be tried again (0 when it may be now)."""
        with self._lock:
            state = self._states.get(key)
            if state is None or state.failures < FAILURES_TO_OPEN:
                return 0.0
            return max(0.0, state.until - self.clock())


DESTINATIONS = Breakers()


class GuardedWebhook:
    """A WebhookClient that asks the destination's breaker before each attempt and tells it how the
    attempt went: a 2xx or another 4xx (the destination answers) closes it; 408, 429, 5xx and network
    errors count as failures. A backed-off destination is a retryable ``DestinationBackedOff`` asking
    to wait out the cooldown, so a caller's retries end at once."""

    def __init__(self, inner: WebhookClient, breakers: Breakers) -> None:
        self._inner = inner
        self._breakers = breakers

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        key = destination(url)
        if not self._breakers.allow(key):
            error = WebhookError(
                f"webhook destination backed off after {FAILURES_TO_OPEN} failed attempts in a row",
                code="DestinationBackedOff",
                retryable=True,
            )
            error.retry_after = max(self._breakers.backed_off(key), FIRST_COOLDOWN_S)
            raise error
        try:
            status = self._inner.post(url, body, headers, timeout)
        except WebhookError:
            self._breakers.failed(key)
            raise
        if status in (408, 429) or status >= 500:
            self._breakers.failed(key)
        else:
            self._breakers.succeeded(key)
        return status
