"""Closing the loop through the wire: VOD completion events, pushed and pulled from the VOD emulator,
become element.completed at the webhook receiver, once (``lib.vod.completion``; its tests without the
local stack are in tests/unit/vod/test_completion.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import handler
from devstack.emulators.vod import Fault
from devstack.emulators.webhook import WebhookReceiver
from devstack.samples import png_bytes
from devstack.stack import LocalStack
from lib import breakers
from lib.errors import RelayError
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from lib.vod.completion import (
    EVENT_FIELD,
    describe_task,
    handle_event,
)
from tests.conftest import load_event, stage
from tests.fakes import ScriptedVod
from tests.receipt_tools import receipts_in

TIMER = {"Type": "Timer", "TriggerName": "vod-pull", "Time": "2026-11-24T12:00:00Z", "Message": "vod-pull"}
CTX = {"request_id": "req-completion", "time_limit_in_ms": 60000}


@pytest.fixture
def pull_stack(stack: LocalStack) -> Iterator[LocalStack]:
    """The stack with VOD in reliable-callback (PULL) mode."""
    stack.vod.event_mode = "PULL"
    try:
        yield stack
    finally:
        stack.vod.event_mode = None


def submit_folder(stack: LocalStack, folder: str = "hero") -> str:
    event = load_event("cos/put.json")
    for record in event["Records"]:
        record["cos"]["cosObject"]["key"] = record["cos"]["cosObject"]["key"].replace("/hero/", f"/{folder}/")
    stage(stack, event)
    handler.main_handler(event, CTX)
    return str(stack.vod.created_tasks()[-1].task_id)


def test_pull_cycle_relays_completion_and_marks_the_receipt(pull_stack: LocalStack) -> None:
    """Upload → element.submitted; the timer's pull → element.completed with the element id and the
    original context; the receipt becomes completed; the next tick relays nothing again."""
    stack = pull_stack
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    result = handler.main_handler(TIMER, CTX)
    assert result["pull"] == "done" and result["relayed"] == 1
    completed = [d for d in stack.webhook.deliveries if d.event == "element.completed"]
    assert len(completed) == 1
    body = completed[0].json
    task = stack.vod.tasks[task_id]
    assert body["task_id"] == task_id and body["status"] == "succeeded"
    assert body["element_ids"] == [task.element_id]
    assert body["context"] == '{"campaign": "demo", "owner": "pipeline-a"}'
    assert body["source"]["kind"] == "cos" and completed[0].signature_valid
    relayed_info = json.dumps(body["elements"])
    assert "/elements/hero/frontal.png" in relayed_info  # the element's media are named ...
    assert "X-Amz-Signature" not in relayed_info and "Security-Token" not in relayed_info  # ... unsigned
    receipt = receipts_in(stack.s3, "media-1250000000").load(body["session_id"])
    assert receipt is not None
    assert receipt.state == "completed" and receipt.element_ids == (task.element_id,)
    again = handler.main_handler(TIMER, CTX)
    assert again["pulled"] == 0
    assert len([d for d in stack.webhook.deliveries if d.event == "element.completed"]) == 1


def test_failed_task_is_relayed_with_its_error(pull_stack: LocalStack) -> None:
    """A task whose media did not load: element.completed with status failed and VOD's error."""
    stack = pull_stack
    event = load_event("cos/put.json")
    stage(stack, event)
    stack.s3.delete_object(Bucket="media-1250000000", Key="elements/hero/left.png")
    stack.s3.put_object(Bucket="media-1250000000", Key="elements/hero/left.png", Body=png_bytes((1, 2, 3)))
    # Presigned URLs are made now; removing the object afterwards makes the service's fetch fail. The
    # service waits a second before fetching, so the removal comes first even on a busy machine.
    stack.vod.task_delay = 1.0
    try:
        handler.main_handler(event, CTX)
        stack.s3.delete_object(Bucket="media-1250000000", Key="elements/hero/left.png")
        stack.vod.wait_idle(10)
    finally:
        stack.vod.task_delay = 0.05
    handler.main_handler(TIMER, CTX)
    body = next(d.json for d in stack.webhook.deliveries if d.event == "element.completed")
    assert body["status"] == "failed" and body["element_ids"] == []
    assert body["error"] == {"code": "FailedOperation", "message": "Image URL is invalid"}


def test_an_aborted_task_is_pulled_and_relayed_as_failed_once(pull_stack: LocalStack) -> None:
    """VOD aborts the task: the pulled event (every other type's field null) is relayed once as
    element.completed, failed, with the task's ErrCodeExt/Message/ErrCode; its handle is confirmed, the
    receipt is completed, and later ticks relay nothing."""
    stack = pull_stack
    stack.vod.inject(Fault("abort", err_code=70000, err_code_ext="FailedOperation", message="task aborted"))
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    result = handler.main_handler(TIMER, CTX)
    assert (result["pulled"], result["relayed"], result["unconfirmed"]) == (1, 1, 0)
    [body] = completed(stack)
    assert (body["task_id"], body["status"], body["element_ids"]) == (task_id, "failed", [])
    assert body["error"] == {"code": "FailedOperation", "message": "task aborted", "vod_err_code": 70000}
    assert body["source"]["kind"] == "cos"
    receipt = receipts_in(stack.s3, "media-1250000000").load(body["session_id"])
    assert receipt is not None and receipt.state == "completed"
    stack.vod.advance(31)  # past the confirm window: a handle left unconfirmed would come back now
    assert handler.main_handler(TIMER, CTX)["pulled"] == 0
    assert len(completed(stack)) == 1


def submit_direct(stack: LocalStack, name: str, callback_url: str | None = None) -> str:
    """A direct element request (its receipt in RECEIPT_BUCKET, with its callback_url); the task id."""
    event = load_event("direct/request.json")
    stage(stack, event)
    event["name"] = name
    if callback_url is not None:
        event["callback_url"] = callback_url
    outcome = handler.main_handler(event, CTX)
    assert outcome["status"] == "submitted", outcome
    return str(outcome["task_id"])


def test_pull_confirms_only_relayed_handles(pull_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """One destination keeps failing: only the other handle is confirmed; once it is back, the next
    cycle relays the rest."""
    stack = pull_stack
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "127.0.0.1")
    with WebhookReceiver() as down:
        submit_direct(stack, "one", callback_url=down.url)  # element.submitted is accepted ...
        submit_direct(stack, "two")
        stack.vod.wait_idle(10)
        down.script([503] * 50)  # ... then the destination goes down
        first = handler.main_handler(TIMER, {**CTX, "time_limit_in_ms": 15000})
        assert (first["relayed"], first["unconfirmed"]) == (1, 1)
        down.reset()  # back up (its script and record emptied)
        stack.vod.advance(31)  # past the 30-second confirm window: the unconfirmed event comes back
        later = time.monotonic() + 31  # ... and past the 30 s its breaker backed the destination off
        monkeypatch.setattr(breakers.DESTINATIONS, "clock", lambda: later)
        second = handler.main_handler(TIMER, CTX)
        assert second["relayed"] == 1
        assert [d.event for d in down.accepted()] == ["element.completed"]
    assert [d.event for d in stack.webhook.accepted() if d.event == "element.completed"] == [
        "element.completed"
    ]


def test_sixteen_dead_destinations_do_not_starve_later_completions(
    pull_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break 3 of issue 21: PullEvents hands back 16 events at most, and a round whose relays all
    failed ended the cycle, so 16 completions for a dead callback blocked every later one, cycle
    after cycle. Now the cycle pulls on: the 3 good completions are delivered in the first cycle, the
    dead destination is tried a few times and then backed off, and its 16 events stay unconfirmed at
    VOD (offered again after 30 s), none lost."""
    stack = pull_stack
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "127.0.0.1")
    with WebhookReceiver() as dead:
        for i in range(16):
            submit_direct(stack, f"dead{i}", callback_url=dead.url)  # element.submitted is accepted ...
        for i in range(3):
            submit_direct(stack, f"good{i}")
        stack.vod.wait_idle(10)
        dead.script([503] * 1000)  # ... then the destination goes down for good
        before = len(dead.deliveries)
        summary = handler.main_handler(TIMER, CTX)
        attempts = len(dead.deliveries) - before
    assert (summary["pulled"], summary["relayed"], summary["unconfirmed"]) == (19, 3, 16)
    completed = {d.json["element_name"] for d in stack.webhook.accepted() if d.event == "element.completed"}
    assert completed == {"good0", "good1", "good2"}
    assert summary["backed_off"] >= 15 and attempts <= 5  # backed off, not tried 16 times over
    confirms = [c for c in stack.vod.calls if c.action == "ConfirmEvents"]
    assert len({h for c in confirms for h in c.params.get("EventHandles", [])}) == 3


def test_black_hole_callbacks_do_not_stall_other_completions(
    pull_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 3 of issue 16: two requests name a callback that accepts requests and never answers.
    The other completions of the same pull cycle are relayed within that cycle; only the two stay
    unconfirmed, for a later cycle."""
    stack = pull_stack
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "127.0.0.1")
    with WebhookReceiver() as hole:
        for i in range(2):
            submit_direct(stack, f"stall{i}", callback_url=hole.url)
        for i in range(6):
            submit_direct(stack, f"other{i}")
        stack.vod.wait_idle(10)
        hole.script([{"status": 200, "delay": 60}] * 20)  # accepts, reads, never answers in time
        summary = handler.main_handler(TIMER, {**CTX, "time_limit_in_ms": 15000})
    assert (summary["pulled"], summary["relayed"], summary["unconfirmed"]) == (8, 6, 2)
    completed = {d.json["element_name"] for d in stack.webhook.accepted() if d.event == "element.completed"}
    assert completed == {f"other{i}" for i in range(6)}


def test_other_events_are_confirmed_by_default_or_left_for_another_consumer(
    pull_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: PullEvents hands out every event of the application. By default the events that are
    not element completions are confirmed (consumed); VOD_PULL_OTHER_EVENTS=leave leaves them
    unconfirmed, and they come back to every later cycle (their cost)."""
    stack = pull_stack
    upload = {"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "5285890781763144364"}}
    stack.vod._queue.put(dict(upload), stack.sub_app_id)  # an event for another consumer
    monkeypatch.setenv("VOD_PULL_OTHER_EVENTS", "leave")
    first = handler.main_handler(TIMER, CTX)
    assert (first["pulled"], first["left"], first["ignored"]) == (1, 1, 0)
    stack.vod.advance(31)
    again = handler.main_handler(TIMER, CTX)
    assert (again["pulled"], again["left"]) == (1, 1)  # back every cycle while left
    monkeypatch.delenv("VOD_PULL_OTHER_EVENTS")
    stack.vod.advance(31)
    consumed = handler.main_handler(TIMER, CTX)
    assert (consumed["pulled"], consumed["ignored"], consumed["left"]) == (1, 1, 0)
    stack.vod.advance(31)
    assert handler.main_handler(TIMER, CTX)["pulled"] == 0
    assert stack.webhook.deliveries == []


def test_pulled_events_of_other_vod_types_are_confirmed_and_ignored(pull_stack: LocalStack) -> None:
    """PullEvents hands out a SceneAigcImageCompleteEvent (all other types' fields null) beside an element
    completion: the completion is relayed, the other one confirmed and ignored, neither pulled again."""
    stack = pull_stack
    scene = load_event("vod/scene-aigc-image.json")
    del scene["EventHandle"]
    stack.vod._queue.put(scene, stack.sub_app_id)
    submit_folder(stack)
    stack.vod.wait_idle(10)
    summary = handler.main_handler(TIMER, CTX)
    assert (summary["pulled"], summary["relayed"], summary["ignored"], summary["unconfirmed"]) == (2, 1, 1, 0)
    assert [body["status"] for body in completed(stack)] == ["succeeded"]
    stack.vod.advance(31)
    assert handler.main_handler(TIMER, CTX)["pulled"] == 0


def test_duplicate_completion_is_not_relayed_twice(stack: LocalStack) -> None:
    """The same completion event twice (push retries): one element.completed."""
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    content = stack.vod.events[-1]
    assert content["CreateAigcAdvancedCustomElementCompleteEvent"]["TaskId"] == task_id
    assert handler.main_handler(content, CTX)["status"] == "relayed"
    assert handler.main_handler(content, CTX)["status"] == "duplicate"
    assert len([d for d in stack.webhook.deliveries if d.event == "element.completed"]) == 1


def forged(task_id: str, session_id: str | None, element_id: str = "666666666666666666") -> dict[str, Any]:
    """A completion event as an outsider would write it."""
    task: dict[str, Any] = {
        "TaskId": task_id,
        "Status": "FINISH",
        "ErrCodeExt": "",
        "Output": {"InfoList": [{"ElementId": element_id, "ElementInfo": "{}"}]},
    }
    if session_id is not None:
        task["SessionId"] = session_id
    return {"EventType": "CreateAigcAdvancedCustomElementCompleteEvent", EVENT_FIELD: task}


def completed(stack: LocalStack) -> list[dict[str, Any]]:
    return [d.json for d in stack.webhook.deliveries if d.event == "element.completed"]


def test_forged_pushes_change_nothing_and_the_genuine_one_is_relayed(stack: LocalStack) -> None:
    """Finding 1 of issue 16: a pushed event naming a real session with an invented TaskId, or the real
    TaskId with an invented ElementId or outcome, is acknowledged and relayed to no one; the receipt
    stays as it was; the genuine event is then relayed, with VOD's element id."""
    task_id = submit_direct(stack, "victim")
    stack.vod.wait_idle(10)
    genuine = stack.vod.events[-1]
    session_id = genuine[EVENT_FIELD]["SessionId"]

    def receipt() -> dict[str, Any]:
        found = receipts_in(stack.s3, stack.receipt_bucket).load(session_id)
        assert found is not None
        return found._asdict()

    before = receipt()
    failed_claim = forged(task_id, session_id)
    failed_claim[EVENT_FIELD].update(ErrCodeExt="FailedOperation", Message="Image URL is invalid", Output={})
    for event in (
        forged("1500000001-CreateAigcAdvancedCustomElement-0000000000000000000000000000dead", session_id),
        forged(task_id, session_id),  # the real task, an invented element id
        forged(task_id, "er-another-session"),
        failed_claim,
        forged("../../etc", session_id),
    ):
        outcome = handler.main_handler(event, CTX)
        assert outcome["status"] == "ignored" and "not relayed" in outcome["note"], outcome
    assert completed(stack) == [] and receipt() == before
    assert handler.main_handler(genuine, CTX)["status"] == "relayed"
    [body] = completed(stack)
    assert body["element_ids"] == [stack.vod.tasks[task_id].element_id] and body["session_id"] == session_id
    assert receipt()["state"] == "completed"


def test_relayed_completion_comes_from_vods_answer(stack: LocalStack) -> None:
    """A pushed event that leaves fields out (as VOD may) is confirmed and relayed with what
    DescribeTaskDetail says: element ids, context, name."""
    task_id = submit_direct(stack, "sparse")
    stack.vod.wait_idle(10)
    sparse = {"EventType": "CreateAigcAdvancedCustomElementCompleteEvent", EVENT_FIELD: {"TaskId": task_id}}
    assert handler.main_handler(sparse, CTX)["status"] == "relayed"
    [body] = completed(stack)
    assert body["element_ids"] == [stack.vod.tasks[task_id].element_id]
    assert body["context"] == '{"order": 4711}' and body["element_name"] == "sparse"


def test_a_push_for_a_task_still_processing_is_retried(stack: LocalStack) -> None:
    """A completion for a task VOD still reports as processing: a retry is asked for (the platform or
    VOD delivers it again), nothing is relayed."""
    stack.vod.task_delay = 30.0
    try:
        task_id = submit_direct(stack, "slow")
        with pytest.raises(RelayError) as info:
            handler.main_handler(forged(task_id, None), CTX)
    finally:
        stack.vod.task_delay = 0.05
        stack.vod.reset()  # the slow task is dropped
    assert info.value.retryable and "not finished" in info.value.message
    assert completed(stack) == []


def test_a_push_is_retried_while_describe_task_detail_fails(stack: LocalStack) -> None:
    """DescribeTaskDetail unavailable: a retry is asked for, nothing is relayed."""
    submit_direct(stack, "flaky")
    stack.vod.wait_idle(10)
    genuine = stack.vod.events[-1]
    stack.vod.inject(Fault("error", "DescribeTaskDetail", times=100, code="InternalError"))
    with pytest.raises(RelayError) as info:
        handler.main_handler(genuine, {**CTX, "time_limit_in_ms": 3000})
    assert info.value.retryable and "DescribeTaskDetail" in info.value.message
    assert completed(stack) == []


def test_describe_task_answers_from_vod(stack: LocalStack) -> None:
    """DescribeTaskDetail through the SDK: status, element ids, outcome."""
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    services = Services(load_settings(), Invocation("t", time.monotonic() + 30))
    info = describe_task(task_id, services)
    assert info["status"] == "FINISH" and info["outcome"] == "succeeded"
    assert info["element_ids"] == [stack.vod.tasks[task_id].element_id]


def test_a_pulled_completion_that_hits_a_bug_or_an_error_stays_unconfirmed(
    pull_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preparing one event raises a bug, another a RelayError: both stay unconfirmed for VOD to offer
    again; the third is relayed and confirmed."""
    import threading

    from lib.vod import completion

    stack = pull_stack
    for name in ("one", "two", "three"):
        submit_direct(stack, name)
    stack.vod.wait_idle(10)
    real = completion._find_receipt
    failures: list[Exception] = [RuntimeError("a bug"), RelayError("storage down", retryable=True)]
    lock = threading.Lock()

    def flaky(session_id: str | None, services: Services) -> Any:
        with lock:
            failure = failures.pop(0) if failures else None
        if failure is not None:
            raise failure
        return real(session_id, services)

    monkeypatch.setattr(completion, "_find_receipt", flaky)
    summary = handler.main_handler(TIMER, CTX)
    assert (summary["pulled"], summary["relayed"], summary["unconfirmed"]) == (3, 1, 2)


def test_an_aborted_task_without_its_task_object_keeps_a_session_its_receipt_confirms(
    stack: LocalStack,
) -> None:
    """Without a task object, the event's SessionId is kept when that session's receipt names this very
    task: the failure goes to the session (its context from the receipt side) and the receipt completes."""
    task_id = submit_direct(stack, "lost-object")
    stack.vod.wait_idle(10)
    session_id = stack.vod.tasks[task_id].session_id
    response = {"TaskType": "CreateAigcAdvancedCustomElement", "Status": "ABORTED"}
    services = Services(
        load_settings(), Invocation("t", time.monotonic() + 30), vod=ScriptedVod(DescribeTaskDetail=response)
    )
    event = {"EventType": EVENT_FIELD, EVENT_FIELD: {"TaskId": task_id, "SessionId": session_id}}
    assert handle_event(event, services).status == "relayed"
    [body] = completed(stack)
    assert (body["session_id"], body["status"], body["element_name"]) == (session_id, "failed", "lost-object")
    assert body["error"]["code"] == "TaskAborted"
    receipt = receipts_in(stack.s3, stack.receipt_bucket).load(str(session_id))
    assert receipt is not None and receipt.state == "completed"
    assert handle_event(event, services).status == "duplicate"
