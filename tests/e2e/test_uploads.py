"""Uploads become elements, end to end: handler.main_handler with the real SDK and boto3 over HTTP
against the VOD emulator, moto's S3 server and the webhook receiver.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import handler
from devstack.emulators.vod import Fault
from devstack.stack import LocalStack
from lib.errors import RelayError
from tests.conftest import load_event, stage
from tests.receipt_tools import receipts_in, session_ids

SCF_CONTEXT = {"request_id": "req-e2e", "time_limit_in_ms": 30000, "function_name": "element-relay"}
B = "media-1250000000"


def creates(stack: LocalStack) -> list[Any]:
    return [c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]


def test_complete_folder_submits_one_element_with_loadable_urls(stack: LocalStack) -> None:
    """A COS event for a complete folder: one accepted request whose presigned URLs load the uploaded
    bytes, and one signed element.submitted carrying the emulator's TaskId."""
    event = load_event("cos/put.json")
    uploaded = stage(stack, event)
    result = handler.main_handler(event, SCF_CONTEXT)

    tasks = stack.vod.created_tasks()
    assert len(tasks) == 1
    task = tasks[0]
    images = json.loads(task.params["ElementImageList"])
    domain = f"https://{B}.cos.{stack.region}.myqcloud.com/"
    for url in (images["frontal_image"], *(r["image_url"] for r in images["refer_images"])):
        query = parse_qs(urlsplit(url).query)  # COS's own presigned form, on the bucket's domain
        assert url.startswith(domain) and query["q-sign-algorithm"] == ["sha1"]
        assert query["x-cos-security-token"] == [stack.session_token]
    assert images["frontal_image"].split("?")[0] == domain + "elements/hero/frontal.png"
    assert len(images["refer_images"]) == 2
    assert task.params["ElementName"] == "hero" and task.params["SubAppId"] == 1500000001
    assert task.params["SessionId"].startswith("er-")

    stack.vod.wait_idle(timeout=10)
    fetched = {m.url.split("?")[0].rsplit("/", 1)[-1]: m for m in task.media.values()}
    for name in ("frontal.png", "left.png", "back.png"):
        expected = hashlib.sha256(uploaded[(B, f"elements/hero/{name}")]).hexdigest()
        assert fetched[name].status == 200 and fetched[name].sha256 == expected
    assert task.status == "FINISH" and task.err_code_ext == ""

    deliveries = stack.webhook.wait_for(1)
    assert len(stack.webhook.deliveries) == 1
    body = deliveries[0].json
    assert deliveries[0].signature_valid is True and deliveries[0].event == "element.submitted"
    assert body["task_id"] == task.task_id and body["session_id"] == task.params["SessionId"]
    assert body["source"] == {"kind": "cos", "bucket": B, "keys": ["elements/hero/element.json"]}
    assert deliveries[0].idempotency_key == f"{body['session_id']}:element.submitted"
    statuses = [r["status"] for r in result["records"]]
    assert statuses == ["waiting", "waiting", "waiting", "submitted"]
    stack.cos.assert_none_refused()  # the function's requests and VOD's fetches all passed COS's checks
    assert {r.auth for r in stack.cos.requests} == {"header", "query"}


def test_same_event_twice_makes_one_task(stack: LocalStack) -> None:
    """A redelivered event finds the receipt and creates nothing new."""
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, SCF_CONTEXT)
    second = handler.main_handler(event, SCF_CONTEXT)
    assert len(stack.vod.created_tasks()) == 1
    assert second["records"][-1]["status"] == "duplicate"
    assert second["records"][-1]["task_id"] == stack.vod.created_tasks()[0].task_id
    (sid,) = session_ids(stack.s3, B)
    receipt = receipts_in(stack.s3, B).load(sid)
    assert receipt is not None
    assert receipt.state == "relayed" and receipt.task_id == stack.vod.created_tasks()[0].task_id


@pytest.mark.parametrize("mode", ["cos", "s3", "none"])
def test_concurrent_deliveries_make_one_task(stack: LocalStack, mode: str) -> None:
    """Six deliveries of the same event at once, whatever conditions the store honours: one task, its
    TaskId relayed at least once, no element.failed, and no invocation fails for a lost race."""
    stack.cos.mode = mode
    event = load_event("cos/put.json")
    stage(stack, event)
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def run() -> None:
        barrier.wait()
        try:
            handler.main_handler(load_event("cos/put.json"), SCF_CONTEXT)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (task,) = stack.vod.created_tasks()
    events = [d.event for d in stack.webhook.deliveries]
    assert "element.failed" not in events
    submitted = {d.json["task_id"] for d in stack.webhook.deliveries if d.event == "element.submitted"}
    assert submitted == {task.task_id}
    stack.cos.assert_none_refused()


def test_transient_vod_errors_are_retried(stack: LocalStack) -> None:
    """InternalError then two RequestLimitExceeded: still exactly one task, and it is relayed."""
    stack.vod.inject(Fault("error", code="InternalError"))
    stack.vod.inject(Fault("error", code="RequestLimitExceeded", times=2))
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, SCF_CONTEXT)
    assert [c.error_code for c in creates(stack)] == [
        "InternalError",
        "RequestLimitExceeded",
        "RequestLimitExceeded",
        None,
    ]
    assert len(stack.vod.created_tasks()) == 1
    assert stack.webhook.wait_for(1)[0].json["task_id"] == stack.vod.created_tasks()[0].task_id


def test_webhook_503_twice_still_delivers(stack: LocalStack) -> None:
    """The webhook answers 503 twice, then 200: the third attempt delivers."""
    stack.webhook.script([503, 503])
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, SCF_CONTEXT)
    assert [d.status for d in stack.webhook.deliveries] == [503, 503, 200]
    assert len(stack.vod.created_tasks()) == 1


def test_webhook_down_raises_and_retry_relays_without_new_task(stack: LocalStack) -> None:
    """A webhook down for the whole invocation: raise for the platform; the retry only relays."""
    stack.webhook.script([500] * 6)
    event = load_event("cos/put.json")
    stage(stack, event)
    with pytest.raises(RelayError) as info:
        handler.main_handler(event, SCF_CONTEXT)
    assert info.value.retryable
    handler.main_handler(event, SCF_CONTEXT)
    assert len(stack.vod.created_tasks()) == 1
    accepted = stack.webhook.accepted()
    assert len(accepted) == 1 and accepted[0].json["task_id"] == stack.vod.created_tasks()[0].task_id


def put_folder(stack: LocalStack, files: dict[str, bytes]) -> dict[str, Any]:
    """Upload a folder under elements/bad/ and return a COS event for its element.json."""
    for name, body in files.items():
        stack.s3.put_object(Bucket=B, Key=f"elements/bad/{name}", Body=body)
    event = load_event("cos/put.json")
    record = event["Records"][3]
    record["cos"]["cosObject"]["key"] = "/1250000000/media/elements/bad/element.json"
    return {"Records": [record]}


@pytest.mark.parametrize(
    ("files", "field"),
    [
        (
            {"frontal.png": b"f", "l.png": b"l", "element.json": b'{"name": "Twenty-five characters long"}'},
            "name",
        ),
        (
            {"frontal.png": b"f", **{f"r{i}.png": b"r" for i in range(4)}, "element.json": b"{}"},
            "refer_images",
        ),
        ({"clip.gif": b"g", "element.json": b'{"video": "clip.gif"}'}, "video"),
        ({"frontal.png": b"f", "l.png": b"l", "element.json": b'{"name": "x",'}, "element.json"),
    ],
    ids=["long-name", "four-images", "gif-video", "malformed-manifest"],
)
def test_bad_input_relays_element_failed_without_api_call(
    stack: LocalStack, files: dict[str, bytes], field: str
) -> None:
    """Bad input: element.failed naming the field, no API call, and a normal return."""
    result = handler.main_handler(put_folder(stack, files), SCF_CONTEXT)
    assert result["records"][0]["status"] == "failed"
    assert stack.vod.calls == []
    delivery = stack.webhook.wait_for(1)[0]
    assert delivery.event == "element.failed" and delivery.signature_valid
    error = delivery.json["error"]
    assert error["code"] == "InvalidManifest"
    assert field in [d["field"] for d in error["details"]]


def test_permanent_vod_error_is_relayed_and_not_retried(stack: LocalStack) -> None:
    """A VOD parameter refusal: one call, element.failed with the VOD code, a normal return."""
    stack.vod.inject(Fault("error", code="InvalidParameterValue.SubAppId", message="bad app"))
    event = load_event("cos/put.json")
    stage(stack, event)
    result = handler.main_handler(event, SCF_CONTEXT)
    assert result["records"][-1]["status"] == "failed"
    assert len(creates(stack)) == 1
    delivery = stack.webhook.wait_for(1)[0]
    assert delivery.event == "element.failed"
    assert delivery.json["error"]["code"] == "InvalidParameterValue.SubAppId"
    handler.main_handler(event, SCF_CONTEXT)  # a redelivery does not call VOD again
    assert len(creates(stack)) == 1


def test_no_secret_or_signature_in_logs(
    stack: LocalStack, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No log line carries the secret key, the session token or a presigned signature."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    stack.vod.inject(Fault("error", code="InternalError"))
    stack.webhook.script([503])
    event = load_event("cos/put.json")
    stage(stack, event)
    handler.main_handler(event, SCF_CONTEXT)
    text = log_lines.getvalue()
    assert '"status": "submitted"' in text  # the capture works
    env = stack.env()
    for secret in (env["TENCENTCLOUD_SECRETKEY"], env["TENCENTCLOUD_SESSIONTOKEN"], env["CALLBACK_SECRET"]):
        assert secret not in text
    url = json.loads(stack.vod.created_tasks()[0].params["ElementImageList"])["frontal_image"]
    (signature,) = parse_qs(urlsplit(url).query)["q-signature"]
    assert len(signature) == 40 and signature not in text
    for line in text.splitlines():
        json.loads(line)  # every line is one JSON object


def test_media_urls_die_with_the_temporary_key_that_signed_them(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README "Limits": on SCF the presigned media URLs are signed with the role's temporary key, so they
    stop working when that key expires, whatever MEDIA_URL_EXPIRES says. With a key that expires before
    VOD fetches, the submission succeeds and the task then fails on its media."""
    saved = (stack.secret_id, stack.secret_key, stack.session_token)
    try:
        key = stack.use_temporary_key(60)
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        stack.vod.task_delay = 1.0  # VOD fetches a second later: the key has expired by then
        event = load_event("cos/put.json")
        stage(stack, event)
        handler.main_handler(event, {"request_id": "req-tmp-key", "time_limit_in_ms": 30000})
        [task] = stack.vod.created_tasks()
        url = json.loads(task.params["ElementImageList"])["frontal_image"]
        assert parse_qs(urlsplit(url).query)["q-ak"] == [key.secret_id]
        assert parse_qs(urlsplit(url).query)["x-cos-security-token"] == [key.token]
        stack.cos.advance(61)
        stack.vod.wait_idle(10)
    finally:
        stack.vod.task_delay = 0.05
        stack.secret_id, stack.secret_key, stack.session_token = saved
    assert (task.status, task.err_code_ext, task.message) == (
        "FINISH",
        "FailedOperation",
        "Image URL is invalid",
    )
    assert {fetched.status for fetched in task.media.values()} == {403}
    assert all("temporary key has expired" in r.message for r in stack.cos.refused)
