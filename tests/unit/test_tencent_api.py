"""The Tencent Cloud API rules VOD and TDMQ for CMQ share (``lib.tencent_api``): the transient rule, the
error a refused call becomes, and the rate limit's slot and back-off."""

from __future__ import annotations

import logging
import time

import pytest

from lib.errors import CmqError, QueueError, VodError
from lib.invocation import SAFETY_MARGIN_S, Invocation
from lib.outcomes import outcome_for
from lib.tencent_api import (
    MIN_CALL_TIME_S,
    RATE_LIMIT_RETRY_AFTER_S,
    api_error,
    is_rate_limited,
    is_transient,
    paced,
)
from lib.vod.ratelimit import RateLimiter

log = logging.getLogger("test.tencent_api")


def lasting(seconds: float) -> Invocation:
    """An invocation with ``seconds`` left for work."""
    return Invocation("req-1", time.monotonic() + SAFETY_MARGIN_S + seconds)


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("InternalError", True),
        ("RequestLimitExceeded", True),
        ("RequestLimitExceeded.UinLimitExceeded", True),
        ("ServiceUnavailable.QueueFull", True),
        ("ClientNetworkError", True),
        ("ServerNetworkError", True),
        ("EmptyTaskId", False),  # VOD's own rule adds it (lib.vod.client.is_transient)
        ("InvalidParameterValue", False),
        ("AuthFailure.SignatureFailure", False),
        ("FailedOperation", False),
        ("MessageTooLong", False),
    ],
)
def test_the_transient_rule(code: str, transient: bool) -> None:
    assert is_transient(code) is transient
    assert is_rate_limited(code) is code.startswith("RequestLimitExceeded")


def test_a_refusal_becomes_an_error_of_the_clients_class() -> None:
    limited = api_error(VodError, "slow down", code="RequestLimitExceeded.UinLimitExceeded")
    assert isinstance(limited, VodError) and outcome_for(limited) == "retry"
    assert limited.retry_after == RATE_LIMIT_RETRY_AFTER_S
    refused = api_error(VodError, "no", code="AuthFailure.SecretIdNotFound")
    assert (outcome_for(refused), refused.retry_after) == ("raise", 0.0)
    queue = api_error(
        CmqError, "full", code="Queue.ServiceUnavailable.QueueFull", condition="ServiceUnavailable"
    )
    assert isinstance(queue, QueueError) and queue.code == "Queue.ServiceUnavailable.QueueFull"
    assert outcome_for(queue) == "retry"
    told = api_error(VodError, "no task id", code="EmptyTaskId", retryable=True)
    assert outcome_for(told) == "retry" and told.retry_after == 0.0


class Limiter(RateLimiter):
    def __init__(self, slot: bool) -> None:
        super().__init__(10.0)
        self.slot = slot
        self.waits: list[float] = []
        self.pauses = 0

    def acquire(self, max_wait: float) -> bool:
        self.waits.append(max_wait)
        return self.slot

    def back_off(self) -> float:
        self.pauses += 1
        return 0.0


def test_a_call_takes_a_slot_that_leaves_time_for_it() -> None:
    limiter, invocation = Limiter(True), lasting(5.0)
    answer = paced(limiter, invocation, lambda: 42, what="Act", no_slot=lambda: VodError("x"), log=log)
    assert answer == 42 and limiter.pauses == 0
    assert 0 < limiter.waits[0] <= 5.0 - MIN_CALL_TIME_S


def test_no_slot_in_time_asks_for_a_retry_after_the_invocation() -> None:
    calls: list[int] = []
    with pytest.raises(VodError) as caught:
        paced(
            Limiter(False),
            lasting(3.0),
            lambda: calls.append(1),
            what="Act",
            no_slot=lambda: VodError("no slot", code="ClientRateLimited", retryable=True),
            log=log,
        )
    assert caught.value.code == "ClientRateLimited" and 0 < caught.value.retry_after <= 3.0 and calls == []


@pytest.mark.parametrize(("code", "pauses"), [("Queue.RequestLimitExceeded", 1), ("Queue.InternalError", 0)])
def test_a_rate_refusal_pauses_the_limiter(code: str, pauses: int) -> None:
    limiter = Limiter(True)

    def refused() -> None:
        raise CmqError("refused", code=code, retryable=True)

    with pytest.raises(CmqError):
        paced(
            limiter,
            lasting(5.0),
            refused,
            what="SendMessage",
            no_slot=lambda: CmqError("x"),
            condition=lambda c: c.removeprefix("Queue."),
            log=log,
        )
    assert limiter.pauses == pauses
