"""The Tencent Cloud API rules VOD and TDMQ for CMQ share (``lib.tencent_api``): the transient rule, the
error a refused call becomes, the rate limit's slot and back-off, and the client-side rate limiter itself,
measured with an injected clock (no timed assertions)."""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
import time

import pytest

from lib.errors import CmqError, QueueError, VodError
from lib.invocation import SAFETY_MARGIN_S, Invocation
from lib.outcomes import outcome_for
from lib.tencent_api import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    MIN_CALL_TIME_S,
    RATE_LIMIT_RETRY_AFTER_S,
    SLACK_S,
    STRIKE_MEMORY_S,
    RateLimiter,
    api_error,
    is_rate_limited,
    is_transient,
    paced,
)

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


# The rate limiter.


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(rate: float = 20.0, clock: FakeClock | None = None) -> tuple[RateLimiter, FakeClock]:
    clock = clock or FakeClock()
    return RateLimiter(rate, clock=clock, sleep=clock.sleep, rng=random.Random(7)), clock


def starts(lim: RateLimiter, clock: FakeClock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        assert lim.acquire(max_wait=60.0)
        times.append(clock.now)
    return times


def test_a_window_holds_rate_starts_at_least_min_gap_apart() -> None:
    """At 20/s: 20 starts half the average spacing apart, the 21st a window (1 s + slack) after the 1st."""
    lim, clock = limiter(20.0)
    times = starts(lim, clock, 22)
    assert times[0] == 100.0
    gaps = [b - a for a, b in itertools.pairwise(times[:20])]
    assert gaps == pytest.approx([lim.min_gap] * 19) and lim.min_gap == pytest.approx(lim.interval / 2)
    assert times[20] == pytest.approx(times[0] + 1.0 + SLACK_S)
    assert times[21] == pytest.approx(times[1] + 1.0 + SLACK_S)


@pytest.mark.parametrize("rate", [20.0, 7.0, 1.5])
def test_no_window_of_a_second_plus_slack_holds_more_than_the_rate(rate: float) -> None:
    """Over 200 calls, any window of 1 s plus (almost) the slack holds at most ``rate`` (rounded up)."""
    lim, clock = limiter(rate)
    times = starts(lim, clock, 200)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 1.0 + SLACK_S * 0.99]
        assert len(in_window) <= math.ceil(rate)
    span = 5 * lim.window  # whole windows: within one, starts come in a burst, min_gap apart
    sustained = (
        len([t for t in times if t < times[0] + span - 1e-6]) / span
    )  # half-open: n starts per n windows
    assert rate * 0.97 <= sustained <= rate


def test_idle_time_is_not_saved_up_as_a_burst() -> None:
    """After a long pause the next calls are still min_gap apart, never let through together."""
    lim, clock = limiter(20.0)
    starts(lim, clock, 3)
    clock.now += 30.0
    later = starts(lim, clock, 3)
    assert [b - a for a, b in itertools.pairwise(later)] == pytest.approx([lim.min_gap] * 2)


def test_a_stall_is_made_up_within_the_window_budget() -> None:
    """Callers that fall behind (a slow storage call) catch up at up to twice the rate afterwards, and
    still no window of 1 s plus the slack holds more than 20."""
    lim, clock = limiter(20.0)
    times = starts(lim, clock, 40)  # full speed: the log is full
    clock.now += 0.4  # nobody asks for 0.4 s
    times += starts(lim, clock, 40)
    catch_up = [b - a for a, b in itertools.pairwise(times[40:50])]
    assert min(catch_up) == pytest.approx(lim.min_gap)
    for i, start in enumerate(times):
        assert len([t for t in times[i:] if t < start + 1.0 + SLACK_S * 0.99]) <= 20


def test_no_slot_within_max_wait_means_no_wait_and_no_reservation() -> None:
    """A slot beyond ``max_wait`` is refused at once and leaves the schedule as it was."""
    lim, clock = limiter(1.0)
    assert lim.acquire(max_wait=0.0)
    before = lim.next_start()
    assert not lim.acquire(max_wait=0.5)
    assert clock.slept == []
    assert lim.next_start() == before


def test_back_off_pauses_every_later_call_by_a_jittered_growing_time() -> None:
    """Refusals in a row pause the next start by jittered pauses that double up to the cap; a refusal long
    after the last one starts again at the base pause."""
    lim, clock = limiter(20.0)
    starts(lim, clock, 1)
    pauses = []
    for _ in range(7):
        refused_at = clock.now
        pauses.append(lim.back_off())
        assert lim.acquire(max_wait=5.0)
        assert clock.now == pytest.approx(refused_at + pauses[-1])
    ceilings = [min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**k) for k in range(7)]
    assert all(c / 2 <= p <= c for p, c in zip(pauses, ceilings, strict=True))
    assert ceilings[-1] == BACKOFF_CAP_S and len(set(pauses)) == 7
    clock.now += STRIKE_MEMORY_S + 1
    assert lim.back_off() <= BACKOFF_BASE_S


def test_a_back_off_voids_the_slots_reserved_for_later() -> None:
    """Slots reserved before a refusal are void: the next start is right after the pause, not after them."""
    lim, _ = limiter(20.0)
    for _ in range(5):
        assert lim.reserve(max_wait=5.0) is not None  # five calls waiting for their slots
    pause = lim.back_off()
    assert lim.next_start() == pytest.approx(100.0 + pause)


def test_a_call_waiting_through_a_refusal_takes_a_new_slot_after_the_pause() -> None:
    """A call that reserved its slot before a refusal (it arrives while the call waits) waits again."""
    clock = FakeClock()
    backed_off: list[float] = []

    def sleep_then_refuse(seconds: float) -> None:  # the refusal arrives while this call waits
        clock.now += seconds
        if not backed_off:
            backed_off.append(lim.back_off())

    lim = RateLimiter(20.0, clock=clock, sleep=sleep_then_refuse, rng=random.Random(1))
    assert lim.acquire(max_wait=5.0)  # the first slot is now: no sleep
    assert lim.acquire(max_wait=5.0)  # the next one is min_gap later: the refusal comes meanwhile
    assert clock.now == pytest.approx(100.0 + lim.min_gap + backed_off[0])


def test_threads_never_share_a_slot() -> None:
    """Eight threads reserving at once get exactly the slots one thread would have got, each once."""
    clock = FakeClock()
    lim = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    reference = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    expected = [reference.reserve(max_wait=1e9) for _ in range(400)]
    slots: list[float] = []
    guard = threading.Lock()

    def reserve_many() -> None:
        for _ in range(50):
            slot = lim.reserve(max_wait=1e9)
            assert slot is not None
            with guard:
                slots.append(slot)

    threads = [threading.Thread(target=reserve_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(slots)) == 400
    assert sorted(slots) == expected


def test_a_bad_rate_is_refused() -> None:
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            RateLimiter(bad)
