"""Faults seen through the HTTP and queue triggers: the caller (or the queue) is told to come back, and
coming back makes exactly one element.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from typing import Any

import pytest

from devstack.emulators.vod import Fault
from tests.conftest import load_event
from tests.e2e.faults.conftest import World

HTTP_READY = importlib.util.find_spec("devstack.http_events") is not None
QUEUE_READY = importlib.util.find_spec("lib.sources.sqs") is not None


def post_elements(body: dict[str, Any]) -> dict[str, Any]:
    from devstack.http_events import build_event

    headers = {"Authorization": f"Bearer {os.environ['API_TOKEN']}"}
    event: dict[str, Any] = build_event(
        "scf_function_url", "POST", "/elements", body=json.dumps(body).encode(), headers=headers
    )
    return event


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    records = [
        {"messageId": f"m{i}", "eventSource": "aws:sqs", "body": json.dumps(b)} for i, b in enumerate(bodies)
    ]
    return {"Records": records}


@pytest.mark.skipif(not HTTP_READY, reason="the HTTP triggers have not landed")
def test_http_caller_told_to_retry_then_gets_the_one_element(world: World) -> None:
    """VOD rate-limited for the whole request: 503 with Retry-After; the caller's retry gets 202, one task."""
    request = load_event("direct/request.json")
    world.stage(request)
    world.stack.vod.inject(Fault("error", code="RequestLimitExceeded", times=100))
    world.inject()
    first = world.invoke(post_elements(request), time_limit_ms=2500).result
    assert first["statusCode"] == 503 and int(first["headers"]["Retry-After"]) >= 1
    world.stack.vod.reset()
    second = world.invoke(post_elements(request)).result
    assert second["statusCode"] == 202, second
    world.finish("http: 503 Retry-After, then the retry")


@pytest.mark.skipif(not HTTP_READY, reason="the HTTP triggers have not landed")
def test_ten_http_requests_at_once_make_one_element(world: World) -> None:
    """Ten identical POSTs at once: one 202, nine 200 duplicates, one task."""
    request = load_event("direct/request.json")
    world.stage(request)
    barrier = threading.Barrier(10)

    def call() -> None:
        barrier.wait(timeout=30)
        world.invoke(post_elements(request))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    world.inject(9)
    assert sorted(run.result["statusCode"] for run in world.runs) == [200] * 9 + [202]
    world.finish("http: 10 identical requests at once")


@pytest.mark.skipif(not QUEUE_READY, reason="the queue triggers have not landed")
def test_sqs_message_comes_back_after_a_webhook_outage(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook is down: only that message is returned to the queue; its redelivery relays, one task."""
    first_body = load_event("direct/request.json")
    second_body = dict(first_body, name="Second")
    world.stage(first_body)
    monkeypatch.setenv("CALLBACK_URL", "http://127.0.0.1:9/hook")
    world.inject()
    down = world.invoke(sqs_event(first_body), time_limit_ms=3000).result
    assert down == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    monkeypatch.setenv("CALLBACK_URL", world.stack.webhook.url)
    again = world.invoke(sqs_event(first_body, second_body)).result
    assert again == {"batchItemFailures": []}
    world.finish("sqs: webhook down, message redelivered", elements=2)


@pytest.mark.skipif(not QUEUE_READY, reason="the queue triggers have not landed")
def test_sqs_batch_with_an_answer_lost_after_vod_acted(world: World) -> None:
    """A batch of three, one answer lost after VOD created its task: three tasks; only the lost one comes
    back (its TaskId is not known yet), and once the completion recorded it, its redelivery is done."""
    base = load_event("direct/request.json")
    world.stage(base)
    world.stack.vod.inject(Fault("reset", after_create=True))
    world.inject()
    bodies = [dict(base, name=f"Batch {i}") for i in range(3)]
    event = sqs_event(*bodies)
    result = world.invoke(event).result
    (failure,) = result["batchItemFailures"]
    assert len(world.stack.vod.created_tasks()) == 3
    world.finish("sqs: batch, one answer lost after create", elements=3)
    (record,) = [r for r in event["Records"] if r["messageId"] == failure["itemIdentifier"]]
    again = world.invoke({"Records": [record]}).result
    assert again == {"batchItemFailures": []} and len(world.stack.vod.created_tasks()) == 3
