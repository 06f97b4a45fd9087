"""Closing the loop: VOD completion events become element.completed at the webhook, once."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import pytest

import handler
from devstack.stack import LocalStack
from lib.completion import SignatureError, TaskResult, describe_task, handle_event, verify_push
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from tests.conftest import load_event, stage
from tests.receipt_tools import receipts_in

TIMER = {"Type": "Timer", "TriggerName": "vod-event-pull", "Time": "2026-11-24T12:00:00Z", "Message": ""}
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
    stack.s3.put_object(Bucket="media-1250000000", Key="elements/hero/left.png", Body=b"x")
    # Presigned URLs are made now; removing the object afterwards makes the service's fetch fail.
    handler.main_handler(event, CTX)
    stack.s3.delete_object(Bucket="media-1250000000", Key="elements/hero/left.png")
    stack.vod.wait_idle(10)
    handler.main_handler(TIMER, CTX)
    body = next(d.json for d in stack.webhook.deliveries if d.event == "element.completed")
    assert body["status"] == "failed" and body["element_ids"] == []
    assert body["error"] == {"code": "FailedOperation", "message": "Image URL is invalid"}


def test_pull_confirms_only_relayed_handles(pull_stack: LocalStack) -> None:
    """One relay keeps failing: only the other handle is confirmed; the next cycle relays the rest."""
    stack = pull_stack
    submit_folder(stack, "one")
    submit_folder(stack, "two")
    stack.vod.wait_idle(10)
    stack.webhook.script([503] * 6)  # the first completion's relay fails all its attempts
    first = handler.main_handler(TIMER, CTX)
    assert (first["relayed"], first["unconfirmed"]) == (1, 1)
    stack.vod.advance(31)  # past the 30-second confirm window: the unconfirmed event comes back
    second = handler.main_handler(TIMER, CTX)
    assert second["relayed"] == 1
    keys = {d.idempotency_key for d in stack.webhook.accepted() if d.event == "element.completed"}
    assert len(keys) == 2


def test_duplicate_completion_is_not_relayed_twice(stack: LocalStack) -> None:
    """The same completion event twice (push retries): one element.completed."""
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    content = stack.vod.events[-1]
    assert content["CreateAigcAdvancedCustomElementCompleteEvent"]["TaskId"] == task_id
    assert handler.main_handler(content, CTX)["status"] == "relayed"
    assert handler.main_handler(content, CTX)["status"] == "duplicate"
    assert len([d for d in stack.webhook.deliveries if d.event == "element.completed"]) == 1


def test_describe_task_answers_from_vod(stack: LocalStack) -> None:
    """DescribeTaskDetail through the SDK: status, element ids, outcome."""
    task_id = submit_folder(stack)
    stack.vod.wait_idle(10)
    services = Services(load_settings(), Invocation("t", time.monotonic() + 30))
    info = describe_task(task_id, services)
    assert info["status"] == "FINISH" and info["outcome"] == "succeeded"
    assert info["element_ids"] == [stack.vod.tasks[task_id].element_id]


def test_unrelated_events_are_ignored() -> None:
    """Events of other types are acknowledged and ignored, without any I/O."""
    services = Services(load_settings({}), Invocation("t", time.monotonic() + 5), {})
    assert handle_event(load_event("vod/other-event.json"), services).status == "ignored"


def test_task_result_reads_success_and_failure() -> None:
    """ErrCodeExt empty + InfoList = success; a non-empty ErrCodeExt = failure."""
    ok = TaskResult.from_task(
        load_event("vod/completed.json")["CreateAigcAdvancedCustomElementCompleteEvent"]
    )
    assert ok.succeeded and ok.element_ids == ("858449709428916275",)
    assert isinstance(ok.elements[0]["element_info"], dict)
    bad = TaskResult.from_task(load_event("vod/failed.json")["CreateAigcAdvancedCustomElementCompleteEvent"])
    assert not bad.succeeded and bad.error == {"code": "FailedOperation", "message": "Video URL is invalid"}


def signed(key: str, expiry: int) -> tuple[str, str]:
    return hashlib.md5(f"{key}{expiry}".encode()).hexdigest(), str(expiry)  # noqa: S324


def test_push_signature_in_body_or_headers() -> None:
    """Sign = md5(key + T): accepted in the body or in headers, T as string or number."""
    sign, t = signed("k3y", int(time.time()) + 600)
    verify_push({"Sign": sign, "T": t}, {}, "k3y")
    verify_push({"Sign": sign.upper(), "T": int(t)}, {}, "k3y")
    verify_push({}, {"Sign": sign, "T": t}, "k3y")
    verify_push({}, {}, None)  # no key configured: nothing to check


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({}, "no Sign"),
        ({"Sign": "0" * 32, "T": str(int(time.time()) + 600)}, "does not match"),
        (dict(zip(("Sign", "T"), signed("k3y", int(time.time()) - 1), strict=True)), "passed"),
    ],
)
def test_bad_push_signatures_are_refused(content: dict[str, str], words: str) -> None:
    """A missing, wrong or expired signature is refused."""
    with pytest.raises(SignatureError, match=words):
        verify_push(content, {}, "k3y")
