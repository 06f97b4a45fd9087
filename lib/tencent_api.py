"""What the Tencent Cloud APIs the relay calls have in common: VOD (API 3.0, ``lib.vod.client``) and
TDMQ for CMQ's data-flow API (``lib.queue.cmq``). Each client reads its own envelope and names the
error code; this module decides what the code means, once for both.

- The transient rule (``is_transient``): the API 3.0 common error codes (every product's "Error Codes"
  page, "Common Error Codes") ``InternalError``, ``RequestLimitExceeded`` (and its ``.*`` sub-codes) and
  ``ServiceUnavailable`` (and ``.*``), and the SDK's own ``ClientNetworkError``/``ServerNetworkError``,
  are retried (docs/platform.md §3.3); every other code is permanent. CMQ's numeric codes are first
  named as API 3.0 names the same condition (``condition``).
- A refusal of the function's own credentials or permissions (``AuthFailure.*``,
  ``UnauthorizedOperation*``: ``lib.errors.refuses_credentials``) is a configuration error.
- The rate limit (``paced``): each call takes a slot of a ``RateLimiter`` (below) first, and none is
  taken later than the invocation's end minus ``MIN_CALL_TIME_S``; a ``RequestLimitExceeded``
  refusal pauses the whole limiter (``RateLimiter.back_off``) and asks the retry to wait at least
  ``RATE_LIMIT_RETRY_AFTER_S`` (the one-second window moves on).

Nothing here imports an SDK: the codes are Tencent's documented strings.

The rate limiter (``RateLimiter``): one container stays at or under a rate of calls per second, VOD's
``VOD_RATE_LIMIT`` (``lib.vod.client``) and CMQ's ``CMQ_RATE_LIMIT`` per queue and direction
(``lib.queue.cmq``). VOD counts ``CreateAigcAdvancedCustomElement`` calls per account, 20 per second by
default, and refuses the excess with ``RequestLimitExceeded`` (the emulator counts in a sliding
one-second window, the strictest reading). A token bucket would let a burst of 20 through and one more
50 ms later: 21 in one window. So the limiter keeps a log of its last ``rate`` starts and lets a call start
only when the oldest of them is more than a window back, the window being one second plus ``SLACK_S``;
the slack absorbs the jitter of the network between here and the service. Whatever the service counts in
(sliding or fixed one-second windows, a bucket of 20), no second of it then sees more than ``rate``.

Starts are also at least half the average spacing apart, so a batch never hits the service all at
once; a stall (busy threads, a slow storage call) is made up afterwards at up to twice the rate,
within the window's budget. Threads reserve their slot under a lock and wait outside it.

A refusal from the service pauses the whole container by a jittered time: short after a first
refusal (one at the edge of a window costs a slot or two), doubling with every further refusal that
follows within ``STRIKE_MEMORY_S``, up to ``BACKOFF_CAP_S`` (another container or client of the
account is using the quota: yield to it). Slots reserved before the refusal are void.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from lib.errors import RelayError, refuses_credentials
from lib.invocation import Invocation

T = TypeVar("T")
E = TypeVar("E", bound=RelayError)

MAX_REQUEST_TIMEOUT_S = 10  # the longest one request to a Tencent Cloud API is given (VOD's SDK timeout)
MIN_CALL_TIME_S = 1.0  # a rate-limit slot later than the invocation's end minus this is not taken
RATE_LIMIT_RETRY_AFTER_S = 0.5  # let the one-second rate window move on
INTERNAL_ERROR = "InternalError"
RATE_LIMITED = "RequestLimitExceeded"
UNAVAILABLE = "ServiceUnavailable"
_TRANSIENT_CODES = frozenset({"ClientNetworkError", "ServerNetworkError", INTERNAL_ERROR})
_TRANSIENT_PREFIXES = (RATE_LIMITED, UNAVAILABLE)


def is_transient(code: str) -> bool:
    """True when a call refused with ``code`` (an API 3.0 name) may succeed if made again."""
    return code in _TRANSIENT_CODES or code.startswith(_TRANSIENT_PREFIXES)


def is_rate_limited(code: str) -> bool:
    """True when ``code`` (an API 3.0 name) is a refusal for the rate: ``RequestLimitExceeded[.*]``."""
    return code.startswith(RATE_LIMITED)


def api_error(
    kind: type[E], text: str, *, code: str, condition: str | None = None, retryable: bool | None = None
) -> E:
    """The error of class ``kind`` for a refused call: retryable by ``is_transient`` (unless the client
    knows better: ``retryable``), a configuration error when the credentials were refused, and a rate
    refusal asks for a later retry. ``condition`` is the API 3.0 name of the condition when ``code`` (the
    code the error carries) is another service's."""
    name = condition or code
    error = kind(
        text,
        code=code,
        retryable=is_transient(name) if retryable is None else retryable,
        configuration=refuses_credentials(name),
    )
    if is_rate_limited(name):
        error.retry_after = RATE_LIMIT_RETRY_AFTER_S
    return error


def paced(
    limiter: RateLimiter,
    invocation: Invocation,
    call: Callable[[], T],
    *,
    what: str,
    no_slot: Callable[[], RelayError],
    condition: Callable[[str], str] = lambda code: code,
    log: logging.Logger,
) -> T:
    """One attempt of ``call`` in a slot of ``limiter``. No slot within the invocation's time raises
    ``no_slot()`` (retryable, after the invocation: there is no time for another attempt either); a
    rate refusal (``condition`` names an error's code in API 3.0 terms) pauses the whole limiter."""
    if not limiter.acquire(invocation.remaining() - MIN_CALL_TIME_S):
        error = no_slot()
        error.retry_after = invocation.remaining()
        raise error
    try:
        return call()
    except RelayError as exc:
        if is_rate_limited(condition(exc.code)):
            pause = limiter.back_off()
            log.warning("%s refused with %s: pausing %.2fs", what, exc.code, pause)
        raise


# The rate limiter (see the module's doc).
WINDOW_S = 1.0
SLACK_S = 0.015  # added to every window: ~1.5 % of the quota at 20/s, the price of (almost) no refusals
MIN_GAP_FRACTION = 0.5  # starts are at least this fraction of the average spacing apart
BACKOFF_BASE_S = 0.1  # the pause after a first refusal: uniform in [base/2, base]
BACKOFF_CAP_S = 2.0  # the longest pause: uniform in [cap/2, cap]
STRIKE_MEMORY_S = 2.0  # refusals further apart than this start again at the base pause


class RateLimiter:
    """At most ``rate`` starts per second plus slack, in any window; thread-safe. Clock, sleep and the
    random source are injectable."""

    def __init__(
        self,
        rate: float,
        *,
        slack: float = SLACK_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1, math.floor(rate))  # starts allowed per window
        self.window = (WINDOW_S + slack) * self.capacity / rate
        self.interval = self.window / self.capacity  # the average spacing at full speed
        self.min_gap = self.interval * MIN_GAP_FRACTION
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._lock = threading.Lock()
        self._starts: deque[float] = deque(maxlen=self.capacity)  # the last slots, taken or reserved
        self._paused_until = float("-inf")
        self._epoch = 0  # bumped by every back-off: slots reserved before it are void
        self._strikes = 0  # refusals in a row (each within STRIKE_MEMORY_S of the one before)
        self._last_refusal = float("-inf")

    def reserve(self, max_wait: float) -> float | None:
        """Reserve the next slot if it starts within ``max_wait`` seconds; its start time, or None."""
        with self._lock:
            return self._reserve(max_wait)[0]

    def acquire(self, max_wait: float) -> bool:
        """Wait for a slot; False (having waited for nothing) when none starts within ``max_wait``."""
        deadline = self._clock() + max_wait
        while True:
            with self._lock:
                slot, epoch = self._reserve(deadline - self._clock())
            if slot is None:
                return False
            delay = slot - self._clock()
            if delay > 0:
                self._sleep(delay)
            with self._lock:
                if epoch == self._epoch:
                    return True
            # the service refused a call while this one waited: its slot is void, take one after the pause

    def next_start(self) -> float:
        """When the next slot would start (for tests and logs)."""
        with self._lock:
            return self._earliest(self._clock())

    def back_off(self) -> float:
        """The service refused a call: no slot starts before a jittered pause; the pause (seconds)."""
        with self._lock:
            now = self._clock()
            self._strikes = self._strikes + 1 if now - self._last_refusal <= STRIKE_MEMORY_S else 1
            self._last_refusal = now
            ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (self._strikes - 1))
            pause = self._rng.uniform(ceiling / 2, ceiling)
            self._paused_until = now + pause
            taken = [start for start in self._starts if start <= now]  # the waiting ones are void
            self._starts = deque(taken, maxlen=self.capacity)
            self._epoch += 1
            return pause

    def _earliest(self, now: float) -> float:
        slot = max(now, self._paused_until)
        if self._starts:
            slot = max(slot, self._starts[-1] + self.min_gap)
            if len(self._starts) == self.capacity:
                slot = max(slot, self._starts[0] + self.window)
        return slot

    def _reserve(self, max_wait: float) -> tuple[float | None, int]:
        now = self._clock()
        slot = self._earliest(now)
        if slot - now > max_wait:
            return None, self._epoch
        self._starts.append(slot)
        return slot, self._epoch
