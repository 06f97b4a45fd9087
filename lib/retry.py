"""Bounded retries with full jitter, inside the invocation's remaining time.

Used for every outbound call (VOD, storage, webhook) instead of the SDK's retryer, which re-raises an
old error after a later success (see the reference, SDK pitfalls).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from lib.errors import RelayError
from lib.invocation import Invocation
from lib.records import Record

T = TypeVar("T")
log = logging.getLogger("relay.retry")


class RetryPolicy(Record):
    """How often and how long to retry one operation."""

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 4.0
    min_attempt_time: float = 0.5  # do not start an attempt with less time left than this

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))


DEFAULT_POLICY = RetryPolicy()
_rng = random.Random()  # noqa: S311 - jitter, not cryptography


def with_retries(
    operation: Callable[[], T],
    *,
    what: str,
    invocation: Invocation,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation``; retry a retryable RelayError until attempts or time run out, then raise it.

    A retryable error may carry ``retry_after`` (seconds) to ask for a longer wait.
    """
    attempt = 0
    while True:
        try:
            return operation()
        except RelayError as exc:
            attempt += 1
            if not exc.retryable or attempt >= policy.attempts:
                raise
            wait = max(policy.delay(attempt - 1, _rng), exc.retry_after)
            if invocation.remaining() < wait + policy.min_attempt_time:
                log.warning("%s: no time left for another attempt after %s", what, exc.code)
                raise
            log.info("%s: attempt %d failed with %s, retrying in %.2fs", what, attempt, exc.code, wait)
            sleep(wait)
