"""VOD completion over HTTP: VOD pushes to the function's URL (devstack serve, as a Function URL), the
function verifies Sign/T and relays element.completed once; /vod/pull and /tasks/{id} answer too."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import handler
from devstack.emulators.vod import Fault
from devstack.stack import LocalStack
from tests.conftest import load_event, stage
from tests.devstack.test_serve import fetch, serving

KEY = "k3ySignLocal"
CTX = {"request_id": "req-vod-http", "time_limit_in_ms": 30000}
B = "media-1250000000"


@pytest.fixture
def pushing(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalStack, str]]:
    """The function served on a local URL, and VOD pushing its events there, signed with KEY."""
    monkeypatch.setenv("VOD_EVENT_SIGN_KEY", KEY)
    with serving() as url:
        stack.vod.event_mode, stack.vod.notify_url, stack.vod.sign_key = "PUSH", f"{url}/vod/events", KEY
        try:
            yield stack, url
        finally:
            stack.vod.event_mode, stack.vod.notify_url, stack.vod.sign_key = None, None, None


def completions(stack: LocalStack) -> list[dict[str, Any]]:
    return [d.json for d in stack.webhook.accepted() if d.event == "element.completed" and d.json]


def test_pushed_success_reaches_the_webhook_once(pushing: tuple[LocalStack, str]) -> None:
    """Upload → element.submitted; VOD's signed push → element.completed with element id and context."""
    stack, _ = pushing
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, CTX)
    stack.vod.wait_idle(10)
    assert [p.status for p in stack.vod.pushes] == [200]
    stack.webhook.wait_for(2)
    [body] = completions(stack)
    task = stack.vod.created_tasks()[0]
    assert body["status"] == "succeeded" and body["element_ids"] == [task.element_id]
    assert body["context"] == '{"campaign": "demo", "owner": "pipeline-a"}'
    handler.main_handler(event, CTX)  # a redelivered upload changes nothing
    assert len(completions(stack)) == 1


def test_pushed_failure_reaches_the_webhook_with_its_error(pushing: tuple[LocalStack, str]) -> None:
    """A task whose media did not load is pushed as failed and relayed with VOD's error, once."""
    stack, _ = pushing
    event = load_event("direct/request.json")
    stage(stack, event)
    stack.vod.task_delay = 1.0  # VOD fetches a second later: the removal comes first even on a busy machine
    try:
        handler.main_handler(event, CTX)  # presigned now ...
        stack.s3.delete_object(Bucket=B, Key="library/mascot/left.png")  # ... gone when VOD fetches
        stack.vod.wait_idle(10)
    finally:
        stack.vod.task_delay = 0.05
    stack.webhook.wait_for(2)
    [body] = completions(stack)
    assert body["status"] == "failed" and body["error"]["code"] == "FailedOperation"
    assert body["context"] == '{"order": 4711}'


def test_bad_signature_is_refused_and_nothing_relayed(pushing: tuple[LocalStack, str]) -> None:
    """A push signed with another key gets 401 and relays nothing."""
    stack, _ = pushing
    stack.vod.sign_key = "notTheKey"
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, CTX)
    stack.vod.wait_idle(10)
    assert [p.status for p in stack.vod.pushes] == [401]
    assert completions(stack) == []


def test_expired_and_unsigned_pushes_are_refused(pushing: tuple[LocalStack, str]) -> None:
    """An event without Sign/T, or with T in the past, is refused with 401."""
    stack, url = pushing
    content = load_event("vod/completed.json")
    status, _, answer = fetch(f"{url}/vod/events", "POST", json.dumps(content).encode())
    assert (status, answer["error"]["code"]) == (401, "InvalidEventSignature")

    content.update(T="1000", Sign=hashlib.md5(f"{KEY}1000".encode()).hexdigest())  # noqa: S324
    status, _, answer = fetch(f"{url}/vod/events", "POST", json.dumps(content).encode())
    assert status == 401 and "passed" in answer["error"]["message"]
    assert completions(stack) == []


def test_other_event_types_are_acknowledged(pushing: tuple[LocalStack, str]) -> None:
    """A pushed event of another type: 200, ignored, nothing relayed (POST / works as well)."""
    stack, url = pushing
    content = load_event("vod/other-event.json")

    expiry = str(int(time.time()) + 600)
    content.update(T=expiry, Sign=hashlib.md5(f"{KEY}{expiry}".encode()).hexdigest())  # noqa: S324
    status, _, answer = fetch(f"{url}/", "POST", json.dumps(content).encode())
    assert (status, answer["status"]) == (200, "ignored")
    assert stack.webhook.deliveries == []


def test_task_route_and_pull_route(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /tasks/{id} answers from DescribeTaskDetail (404 unknown); POST /vod/pull relays pulled events
    (it needs API_TOKEN)."""
    monkeypatch.setenv("API_TOKEN", "tok-vod-http-0123")
    bearer = {"Authorization": "Bearer tok-vod-http-0123"}
    stack.vod.event_mode = "PULL"
    try:
        event = load_event("cos/put.json")
        stage(stack, event)
        handler.main_handler(event, CTX)
        stack.vod.wait_idle(10)
        task = stack.vod.created_tasks()[0]
        with serving() as url:
            status, _, answer = fetch(f"{url}/tasks/{task.task_id}", "GET", None, **bearer)
            assert status == 200 and answer["element_ids"] == [task.element_id]
            assert answer["outcome"] == "succeeded"
            assert (
                fetch(f"{url}/tasks/1500000001-CreateAigcAdvancedCustomElement-0t", "GET", None, **bearer)[0]
                == 404
            )
            assert fetch(f"{url}/vod/pull", "POST", b"")[0] == 401
            status, _, answer = fetch(f"{url}/vod/pull", "POST", b"", **bearer)
            assert status == 200 and answer["relayed"] == 1
        assert len(completions(stack)) == 1
    finally:
        stack.vod.event_mode = None


def test_an_aborted_task_is_pushed_and_relayed_as_failed_once(pushing: tuple[LocalStack, str]) -> None:
    """VOD aborts the task: its pushed event (other types' fields null) is confirmed by DescribeTaskDetail
    (ABORTED), answered 200 and relayed once as element.completed, failed, with the task's error; the
    same push again relays nothing; GET /tasks/{id} reports it failed."""
    stack, url = pushing
    stack.vod.push_nulls = True
    stack.vod.inject(Fault("abort", err_code=70000, err_code_ext="", message="Internal error: task aborted"))
    event = load_event("cos/put.json")
    stage(stack, event)
    try:
        handler.main_handler(event, CTX)
        stack.vod.wait_idle(10)
    finally:
        stack.vod.push_nulls = False
    assert [p.status for p in stack.vod.pushes] == [200]
    stack.webhook.wait_for(2)
    [body] = completions(stack)
    task = stack.vod.created_tasks()[0]
    assert (body["task_id"], body["status"], body["element_ids"]) == (task.task_id, "failed", [])
    assert body["error"] == {
        "code": "TaskAborted",
        "message": "Internal error: task aborted",
        "vod_err_code": 70000,
    }
    assert body["context"] == '{"campaign": "demo", "owner": "pipeline-a"}'

    again = stack.vod.events[-1]
    expiry = str(int(time.time()) + 600)
    again.update(T=expiry, Sign=hashlib.md5(f"{KEY}{expiry}".encode()).hexdigest())  # noqa: S324
    status, _, answer = fetch(f"{url}/vod/events", "POST", json.dumps(again).encode())
    assert (status, answer["status"]) == (200, "duplicate")
    assert len(completions(stack)) == 1


def test_a_pushed_event_of_another_vod_type_with_null_siblings_is_ignored(
    pushing: tuple[LocalStack, str],
) -> None:
    """A SceneAigcImageCompleteEvent (a type the EventType enumeration lacks), with the other types'
    fields null, pushed to the function: 200 ignored, nothing relayed, nothing asked of VOD."""
    stack, url = pushing
    content = load_event("vod/scene-aigc-image.json")
    del content["EventHandle"]
    expiry = str(int(time.time()) + 600)
    content.update(T=expiry, Sign=hashlib.md5(f"{KEY}{expiry}".encode()).hexdigest())  # noqa: S324
    status, _, answer = fetch(f"{url}/vod/events", "POST", json.dumps(content).encode())
    assert (status, answer["status"]) == (200, "ignored")
    assert stack.webhook.deliveries == [] and stack.vod.calls == []
