"""Circuit breakers per webhook destination (lib.breakers): when they open, how long, the half-open
trial, and the WebhookClient that consults them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from lib import breakers
from lib.breakers import Breakers, GuardedWebhook, destination
from lib.errors import WebhookError

KEY = "https://hooks.example.com:443"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_destinations_are_scheme_host_and_port() -> None:
    assert destination("https://Hooks.Example.com./a?b") == KEY
    assert destination("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert destination("http://h/x") == "http://h:80"
    assert destination("https://h:99999/x") == "https://h:443"  # an unreadable port: the scheme's


def test_three_failures_in_a_row_open_the_breaker_for_a_cooldown_that_doubles(clock: Clock) -> None:
    b = Breakers(clock)
    for _ in range(2):
        b.failed(KEY)
    assert b.allow(KEY) and b.backed_off(KEY) == 0
    b.failed(KEY)
    assert not b.allow(KEY) and b.backed_off(KEY) == breakers.FIRST_COOLDOWN_S
    clock.now += breakers.FIRST_COOLDOWN_S
    assert b.allow(KEY)  # the one half-open trial ...
    assert not b.allow(KEY)  # ... and no second one meanwhile
    b.failed(KEY)  # the trial failed: twice as long
    assert b.backed_off(KEY) == 2 * breakers.FIRST_COOLDOWN_S
    clock.now += 2 * breakers.FIRST_COOLDOWN_S
    assert b.allow(KEY)
    b.succeeded(KEY)  # the trial went through: closed
    assert b.allow(KEY) and b.allow(KEY) and b.backed_off(KEY) == 0


def test_the_cooldown_is_capped(clock: Clock) -> None:
    b = Breakers(clock)
    for _ in range(40):
        b.failed(KEY)
        clock.now += breakers.MAX_COOLDOWN_S
        b.allow(KEY)
    b.failed(KEY)
    assert b.backed_off(KEY) == breakers.MAX_COOLDOWN_S


def test_failures_while_open_do_not_extend_it_and_reset_closes_all(clock: Clock) -> None:
    b = Breakers(clock)
    for _ in range(3):
        b.failed(KEY)
    clock.now += 10
    b.failed(KEY)  # a late failure of an attempt begun before the breaker opened
    assert b.backed_off(KEY) == breakers.FIRST_COOLDOWN_S - 10
    b.reset()
    assert b.allow(KEY)


class Answers:
    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.posts = 0

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.posts += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_guarded_client_counts_attempts_and_refuses_while_backed_off(clock: Clock) -> None:
    down = WebhookError("unreachable", code="WebhookUnreachable", retryable=True)
    inner = Answers(503, 429, down, 200, 404)
    b = Breakers(clock)
    client = GuardedWebhook(inner, b)
    url = "https://hooks.example.com/h"
    assert client.post(url, b"{}", {}, 1.0) == 503
    assert client.post(url, b"{}", {}, 1.0) == 429
    with pytest.raises(WebhookError):
        client.post(url, b"{}", {}, 1.0)
    with pytest.raises(WebhookError) as backed_off:
        client.post(url, b"{}", {}, 1.0)
    assert backed_off.value.code == "DestinationBackedOff" and backed_off.value.retryable
    assert backed_off.value.retry_after >= breakers.FIRST_COOLDOWN_S and inner.posts == 3
    clock.now += breakers.FIRST_COOLDOWN_S
    assert client.post(url, b"{}", {}, 1.0) == 200  # the half-open trial closes it
    assert client.post(url, b"{}", {}, 1.0) == 404  # a refusal is an answer: the destination is up
    assert b.backed_off(breakers.destination(url)) == 0
