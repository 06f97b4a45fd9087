"""VOD misbehaving: transient errors, rate limits, broken answers, answers lost after VOD acted, answers
slower than the invocation, and the process dying between VOD's answer and the receipt update.

Each case drives ``handler.main_handler`` with a COS upload event and checks the end state: one task at
the emulator, its id in a receipt or at the webhook, nothing lost, nothing duplicated.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack.emulators.vod import Fault
from lib import submission
from lib.receipts import ReceiptStore
from tests.conftest import load_event
from tests.e2e.faults.conftest import World

CREATE = "CreateAigcAdvancedCustomElement"
RATE_LIMIT_CODES = (
    "RequestLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
)


def upload(world: World) -> dict[str, Any]:
    event = load_event("cos/put.json")
    world.stage(event)
    return event


def create_codes(world: World) -> list[str | None]:
    """Error code of each CreateAigcAdvancedCustomElement call (None: success, or no answer)."""
    return [c.error_code for c in world.stack.vod.calls if c.action == CREATE]


def submitted(world: World) -> list[dict[str, Any]]:
    return [d.json for d in world.stack.webhook.unique() if d.event == "element.submitted"]


def completed_task_ids(world: World) -> list[str]:
    return [d.json["task_id"] for d in world.stack.webhook.unique() if d.event == "element.completed"]


@pytest.mark.parametrize(
    ("case", "fault"),
    [
        ("vod InternalError x2", Fault("error", code="InternalError", times=2)),
        *[(f"vod {code}", Fault("error", code=code)) for code in RATE_LIMIT_CODES],
        ("vod HTTP 502", Fault("http_status", status=502)),
        ("vod connection reset", Fault("reset")),
        ("vod InternalError as '; charset=utf-8'", Fault("charset_error", code="InternalError")),
        ("vod empty TaskId", Fault("empty_task_id")),
    ],
    ids=lambda v: v.split(": ")[-1].replace(" ", "-") if isinstance(v, str) else None,
)
def test_transient_vod_fault_is_retried_within_the_invocation(world: World, case: str, fault: Fault) -> None:
    """A transient VOD fault before VOD acted: retried in the invocation, one task, relayed with its id."""
    world.stack.vod.inject(fault)
    world.inject(fault.times)
    run = world.invoke(upload(world))

    assert run.error is None and run.records()[-1]["status"] == "submitted"
    codes = create_codes(world)
    assert len(codes) == fault.times + 1 and codes[-1] is None
    task = world.stack.vod.created_tasks()[0]
    assert [body["task_id"] for body in submitted(world)] == [task.task_id]
    world.finish(case)


@pytest.mark.parametrize(
    ("case", "fault"),
    [
        ("after create: connection reset", Fault("reset", after_create=True)),
        ("after create: InternalError", Fault("error", code="InternalError", after_create=True)),
        ("after create: HTTP 502", Fault("http_status", status=502, after_create=True)),
        ("after create: empty TaskId", Fault("empty_task_id", after_create=True)),
        (
            "after create: '; charset=utf-8' error",
            Fault("charset_error", code="InternalError", after_create=True),
        ),
        (
            "after create: RequestLimitExceeded",
            Fault("error", code="RequestLimitExceeded", after_create=True),
        ),
    ],
    ids=lambda v: v.split(": ")[-1].replace(" ", "-") if isinstance(v, str) else None,
)
def test_answer_lost_after_vod_acted_makes_no_second_task(world: World, case: str, fault: Fault) -> None:
    """VOD acted but its answer was lost: no second task. Told "already submitted" with no TaskId
    written down, the invocation raises for the platform; the completion brings the TaskId, and the
    platform's next retry finds everything done."""
    world.stack.vod.inject(fault)
    world.inject()
    event = upload(world)
    run = world.invoke(event)

    assert run.retry_asked and "TaskId" in str(run.error)
    assert create_codes(world)[1:] == ["InvalidParameterValue.SessionId"]
    (task,) = world.stack.vod.created_tasks()
    assert submitted(world) == []
    world.finish(case)
    assert completed_task_ids(world) == [task.task_id]
    again = world.invoke(event)
    assert again.error is None and again.records()[-1]["status"] == "duplicate"
    assert len(world.stack.vod.created_tasks()) == 1
    assert not [d for d in world.stack.webhook.deliveries if d.event == "element.failed"]


def test_rate_limited_for_the_whole_invocation_then_platform_retry(world: World) -> None:
    """Rate-limited all invocation long: it raises for the platform, whose retry creates the one task."""
    world.stack.vod.inject(Fault("error", code="RequestLimitExceeded.UinLimitExceeded", times=50))
    world.inject()
    event = upload(world)
    first = world.invoke(event, time_limit_ms=3000)
    assert first.retry_asked
    assert world.stack.vod.created_tasks() == []
    world.stack.vod.reset()  # the limit has passed (and the leftover fault with it)
    second = world.invoke(event)
    assert second.error is None and second.records()[-1]["status"] == "submitted"
    world.finish("vod rate-limited past the invocation")


def test_answer_slower_than_the_remaining_time(world: World) -> None:
    """VOD answers after the time is up: a raise; the retry is told "already submitted" and raises too
    until the TaskId is known; no second task, and the completion relays the TaskId."""
    world.stack.vod.inject(Fault("delay", delay=2.0))
    world.inject()
    event = load_event("cos/video.json")
    world.stage(event)
    first = world.invoke(event, time_limit_ms=2500)  # 1.5 s of work: one attempt with a 1 s timeout
    assert first.retry_asked
    world.wait_for_calls(1)  # the slow answer ends in the background, the task created
    assert len(world.stack.vod.created_tasks()) == 1

    second = world.invoke(event)
    assert second.retry_asked and "TaskId" in str(second.error)
    (task,) = world.stack.vod.created_tasks()
    assert submitted(world) == []
    world.finish("vod answer slower than the remaining time")
    assert completed_task_ids(world) == [task.task_id]
    third = world.invoke(event)
    assert third.error is None and third.records()[-1]["status"] == "duplicate"
    assert len(world.stack.vod.created_tasks()) == 1


def test_permanent_error_with_charset_content_type_is_a_failure(world: World) -> None:
    """A parameter error sent with '; charset=utf-8' is element.failed with VOD's code, no task."""
    fault = Fault("charset_error", code="InvalidParameterValue.Name", message="name")
    world.stack.vod.inject(fault)
    world.inject()
    run = world.invoke(upload(world))
    assert run.error is None and run.records()[-1]["status"] == "failed"
    (delivery,) = world.stack.webhook.unique()
    assert delivery.event == "element.failed"
    assert delivery.json["error"]["code"] == "InvalidParameterValue.Name"
    world.finish("vod parameter error as '; charset=utf-8'", elements=0, failed=1)


class Crash(BaseException):
    """The process dies (SCF kills the instance): no except clause of the function catches it."""


def test_crash_between_vod_answer_and_receipt_update(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash between VOD's answer and its receipt: no second task. The retry is told "already
    submitted" and raises until the TaskId is known; the completion brings it, and no delivery fails."""
    original = ReceiptStore.record_submitted
    crashes: list[str] = []

    def crashing(self: ReceiptStore, session_id: str, task_id: str, request_id: str | None) -> bool:
        if not crashes:
            crashes.append(session_id)
            raise Crash
        return original(self, session_id, task_id, request_id)

    monkeypatch.setattr(ReceiptStore, "record_submitted", crashing)
    # The fact is written alongside the webhook POST; here it runs first and the "process dies" in it.
    monkeypatch.setattr(submission.Submission, "_in_background", lambda self, write: write())
    monkeypatch.setattr(submission, "WAIT_FOR_WINNER_S", 0.5)
    world.inject()
    event = upload(world)
    with pytest.raises(Crash):
        world.invoke(event, time_limit_ms=5000)  # the lease it took ends with its time
    assert len(world.stack.vod.created_tasks()) == 1
    assert world.stack.webhook.deliveries == []
    (receipt,) = world.receipts()
    assert receipt["state"] == "submitting" and receipt["task_id"] is None

    retry = world.invoke(event)  # waits out the dead holder's lease, then VOD says "already submitted"
    assert retry.error is not None and getattr(retry.error, "retryable", False)
    assert "AwaitingTaskId" in str(retry.error) or "TaskId" in str(retry.error)
    (task,) = world.stack.vod.created_tasks()
    assert world.stack.webhook.deliveries == []
    world.finish("crash between VOD answer and receipt")  # the completion relays the TaskId
    assert completed_task_ids(world) == [task.task_id]
    (receipt,) = world.receipts()
    assert receipt["state"] == "completed" and receipt["task_id"] == task.task_id
    again = world.invoke(event)  # the platform's last retry finds it all done
    assert again.error is None and again.records()[-1]["status"] == "duplicate"
    assert len(world.stack.vod.created_tasks()) == 1
    assert not [d for d in world.stack.webhook.deliveries if d.event == "element.failed"]
