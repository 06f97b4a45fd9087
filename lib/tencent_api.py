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
- The rate limit (``paced``): each call takes a slot of the container's ``RateLimiter`` first, and none
  is taken later than the invocation's end minus ``MIN_CALL_TIME_S``; a ``RequestLimitExceeded``
  refusal pauses the whole limiter (``RateLimiter.back_off``) and asks the retry to wait at least
  ``RATE_LIMIT_RETRY_AFTER_S`` (the one-second window moves on).

Nothing here imports an SDK: the codes are Tencent's documented strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from lib.errors import RelayError, refuses_credentials
from lib.invocation import Invocation

if TYPE_CHECKING:
    from lib.vod.ratelimit import RateLimiter

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
