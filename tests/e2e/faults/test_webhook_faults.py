"""The webhook misbehaving: down, slower than the invocation, 5xx then 2xx, a dropped connection, and a
permanent 410. Deliveries are at least once; the receiver de-duplicates with Idempotency-Key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.faults.conftest import World
from tests.e2e.faults.test_storage_faults import closed_port


def upload(world: World) -> dict[str, Any]:
    event = load_event("cos/put.json")
    world.stage(event)
    return event


def submitted_statuses(world: World) -> list[int]:
    return [d.status for d in world.stack.webhook.deliveries if d.event == "element.submitted"]


def test_webhook_down_then_platform_retry(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook down all invocation long: one task, a raise, the retry relays without calling VOD."""
    monkeypatch.setenv("CALLBACK_URL", f"http://127.0.0.1:{closed_port()}/hook")
    world.inject()
    event = upload(world)
    first = world.invoke(event, time_limit_ms=3000)
    assert first.retry_asked
    (receipt,) = world.receipts()
    assert receipt["state"] == "submitted" and receipt["task_id"]

    monkeypatch.setenv("CALLBACK_URL", world.stack.webhook.url)
    second = world.invoke(event)
    assert second.records()[-1]["status"] == "duplicate"
    assert len([c for c in world.stack.vod.calls if c.action.startswith("Create")]) == 1
    assert [d.json["task_id"] for d in world.stack.webhook.accepted()] == [receipt["task_id"]]
    world.finish("webhook: down (connection refused)")


def test_webhook_slower_than_the_invocation(world: World) -> None:
    """Webhook slower than the invocation: a raise; the retry redelivers under the same key."""
    world.stack.webhook.script([{"status": 200, "delay": 2.5}])
    world.inject()
    event = upload(world)
    first = world.invoke(event, time_limit_ms=3000)
    assert first.retry_asked
    world.stack.webhook.wait_for(1, timeout=10)  # the slow answer is recorded in the background

    second = world.invoke(event)
    assert second.error is None
    assert submitted_statuses(world) == [200, 200]
    keys = {d.idempotency_key for d in world.stack.webhook.deliveries}
    assert len(keys) == 1
    world.finish("webhook: slower than its timeout")


@pytest.mark.parametrize(
    ("case", "script"),
    [
        pytest.param("webhook: 500 then 200", [500], id="500"),
        pytest.param("webhook: 429 and 408 then 200", [429, 408], id="429-408"),
        pytest.param("webhook: connection dropped then 200", [{"reset": True}], id="reset"),
    ],
)
def test_transient_webhook_answers_are_retried(world: World, case: str, script: list[Any]) -> None:
    """Transient webhook answers are retried inside the invocation until the 2xx."""
    world.stack.webhook.script(script)
    world.inject(len(script))
    run = world.invoke(upload(world))
    assert run.error is None and run.records()[-1]["status"] == "submitted"
    assert len(submitted_statuses(world)) == len(script) + 1 and submitted_statuses(world)[-1] == 200
    world.finish(case)


def test_webhook_410_is_permanent(world: World) -> None:
    """410 Gone: not retried, logged as an error, the invocation returns; the task id stays in the receipt."""
    world.stack.webhook.script([410])
    world.inject()
    run = world.invoke(upload(world))
    assert run.error is None
    assert run.records()[-1]["note"] == "relay refused: WebhookHttp410"
    assert submitted_statuses(world) == [410]
    errors = [json.loads(line) for line in world.logs.getvalue().splitlines() if '"ERROR"' in line]
    assert any("WebhookHttp410" in e["message"] for e in errors)
    (receipt,) = world.receipts()
    assert receipt["task_id"] == world.stack.vod.created_tasks()[0].task_id
    world.finish("webhook: 410 (permanent)")
    assert submitted_statuses(world) == [410]  # the completion relay did not retry it either
