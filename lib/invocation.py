"""What the platform tells us about this invocation, its request id and its deadline, and the bounded
retries (full jitter) that spend its remaining time.

SCF passes ``context`` as a dict (``request_id``, ``time_limit_in_ms``: the whole limit, so the
deadline counts from the handler's start), Lambda passes an object with ``aws_request_id`` and
``get_remaining_time_in_millis()``, and a local call passes ``None``.

``with_retries`` is used for every outbound call (VOD, storage, webhook) instead of the SDK's retryer,
which re-raises an old error after a later success (see the reference, SDK pitfalls).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lib.errors import RelayError
from lib.records import Record

if TYPE_CHECKING:
    import random

T = TypeVar("T")
log = logging.getLogger("relay.retry")

LOCAL_TIME_LIMIT_S = 60.0
SAFETY_MARGIN_S = 1.0  # kept free at the end of the invocation to answer and log


class Invocation(Record):
    """Per-invocation facts; built by the handler and passed down, never stored on modules."""

    request_id: str
    deadline: float  # time.monotonic() value
    function_name: str | None = None

    @classmethod
    def from_context(cls, context: Any, *, now: float | None = None) -> Invocation:
        start = time.monotonic() if now is None else now
        if context is None:
            return cls(f"local-{uuid.uuid4()}", start + LOCAL_TIME_LIMIT_S)
        if isinstance(context, dict):
            limit_ms = _number(context.get("time_limit_in_ms"))
            return cls(
                str(context.get("request_id") or f"scf-{uuid.uuid4()}"),
                start + (limit_ms / 1000.0 if limit_ms else LOCAL_TIME_LIMIT_S),
                _str_or_none(context.get("function_name")),
            )
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        remaining_ms = _number(remaining()) if callable(remaining) else None
        return cls(
            str(getattr(context, "aws_request_id", None) or f"lambda-{uuid.uuid4()}"),
            start + (remaining_ms / 1000.0 if remaining_ms else LOCAL_TIME_LIMIT_S),
            _str_or_none(getattr(context, "function_name", None)),
        )

    def remaining(self) -> float:
        """Seconds left for work, the safety margin already taken off (never negative)."""
        return max(0.0, self.deadline - SAFETY_MARGIN_S - time.monotonic())


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number > 0 else None


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None


# --- retries within the invocation's time ------------------------------------------------------------


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
_rng: random.Random | None = None  # the jitter's source: made at the first retry (tests put in their own)


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
            wait = max(policy.delay(attempt - 1, _rng or _jitter()), exc.retry_after)
            if invocation.remaining() < wait + policy.min_attempt_time:
                log.warning("%s: no time left for another attempt after %s", what, exc.code)
                raise
            log.info("%s: attempt %d failed with %s, retrying in %.2fs", what, attempt, exc.code, wait)
            sleep(wait)


def _jitter() -> random.Random:
    """The jitter's source, made at the first retry: ``random`` is loaded for a retry only."""
    global _rng
    import random

    _rng = random.Random()  # noqa: S311 - jitter, not cryptography
    return _rng
