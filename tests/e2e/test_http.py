"""The HTTP API end to end, for every HTTP event shape: handler.main_handler with the real SDK and boto3
over HTTP against the VOD emulator, moto's S3 server and the webhook receiver."""

from __future__ import annotations

import json
from typing import Any

import pytest

import handler
from devstack.emulators.vod import Fault
from devstack.http_events import SHAPES, build_event
from devstack.samples import body_for
from devstack.stack import LocalStack

B = "media-1250000000"
MEDIA = ("library/mascot/front.png", "library/mascot/left.png", "library/mascot/right.png")
REQUEST = {
    "name": "Mascot",
    "frontal_image": f"cos://{B}/library/mascot/front.png",
    "refer_images": [f"cos://{B}/library/mascot/left.png", f"cos://{B}/library/mascot/right.png"],
    "context": "order-4711",
}
TOKEN = "api-token-0123456789"
CONTEXT = {"request_id": "req-http", "time_limit_in_ms": 30000}


@pytest.fixture
def media(stack: LocalStack) -> LocalStack:
    for key in MEDIA:
        stack.s3.put_object(Bucket=B, Key=key, Body=body_for(key))
    return stack


def http(
    shape: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Invoke the handler with the event ``shape``'s platform would send: status, headers, JSON body."""
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    event = build_event(shape, method, path, body=raw, headers=headers)
    result = handler.main_handler(event, context or CONTEXT)
    assert isinstance(result["body"], str) and result.get("isBase64Encoded", False) is False
    return result["statusCode"], result["headers"], json.loads(result["body"])


def error_code(body: Any) -> str:
    code: str = body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["details"], list)
    return code


@pytest.mark.parametrize("shape", SHAPES)
def test_submit_202_then_duplicate_200(media: LocalStack, shape: str) -> None:
    """POST /elements: 202 with the emulator's TaskId, relayed with source.kind http; the same request
    again is 200 duplicate with that TaskId, and VOD is called once."""
    status, _, body = http(shape, "POST", "/elements", REQUEST)
    tasks = media.vod.created_tasks()
    assert status == 202 and len(tasks) == 1
    assert body == {
        "status": "submitted",
        "session_id": tasks[0].session_id,
        "task_id": tasks[0].task_id,
        "request_id": body["request_id"],
    }
    delivery = media.webhook.wait_for(1)[0]
    assert delivery.event == "element.submitted" and delivery.signature_valid
    assert delivery.json["source"] == {"kind": "http"} and delivery.json["task_id"] == tasks[0].task_id
    assert delivery.json["context"] == "order-4711"

    status, _, again = http(shape, "POST", "/elements", REQUEST)
    assert status == 200 and again["status"] == "duplicate" and again["task_id"] == tasks[0].task_id
    assert len(media.vod.created_tasks()) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_from_folder_202_and_receipt_lookup(stack: LocalStack, shape: str) -> None:
    """POST /elements/from-folder assembles the folder like its upload would; GET /elements/{id} shows
    the receipt with the same TaskId."""
    for name in ("frontal.png", "left.png", "back.png", "element.json"):
        stack.s3.put_object(Bucket=B, Key=f"elements/hero/{name}", Body=body_for(name))
    status, _, body = http(shape, "POST", "/elements/from-folder", {"folder": f"cos://{B}/elements/hero/"})
    task = stack.vod.created_tasks()[0]
    assert status == 202 and body["task_id"] == task.task_id
    assert task.params["ElementName"] == "hero"
    assert len(json.loads(task.params["ElementImageList"])["refer_images"]) == 2
    delivery = stack.webhook.wait_for(1)[0]
    assert delivery.json["source"] == {"kind": "http", "bucket": B, "keys": ["elements/hero/element.json"]}

    status, _, body = http(shape, "POST", "/elements/from-folder", {"folder": f"cos://{B}/elements/hero"})
    assert (status, body["status"]) == (200, "duplicate")


@pytest.mark.parametrize("shape", SHAPES)
def test_get_element_shows_the_receipt(media: LocalStack, shape: str) -> None:
    """GET /elements/{session_id} after a submission: 200 with state and TaskId; unknown ids 404."""
    _, _, submitted = http(shape, "POST", "/elements", REQUEST)
    status, _, body = http(shape, "GET", f"/elements/{submitted['session_id']}")
    assert status == 200
    assert (body["state"], body["task_id"], body["element_name"]) == (
        "relayed",
        submitted["task_id"],
        "Mascot",
    )
    status, _, body = http(shape, "GET", "/elements/er-unknown")
    assert status == 404 and error_code(body) == "NotFound"


@pytest.mark.parametrize("shape", SHAPES)
def test_broken_rules_400_and_element_failed(media: LocalStack, shape: str) -> None:
    """A request breaking two rules: 400 naming both fields, element.failed relayed, no VOD call."""
    bad = {**REQUEST, "name": "A name far too long for VOD", "refer_images": []}
    status, _, body = http(shape, "POST", "/elements", bad)
    assert status == 400 and error_code(body) == "InvalidElementRequest"
    assert {d["field"] for d in body["error"]["details"]} == {"name", "refer_images"}
    delivery = media.webhook.wait_for(1)[0]
    assert delivery.event == "element.failed" and delivery.json["source"] == {"kind": "http"}
    assert media.vod.calls == []


@pytest.mark.parametrize("shape", SHAPES)
def test_malformed_json_400_without_relay(stack: LocalStack, shape: str) -> None:
    """A body that is not JSON: 400 MalformedRequest, nothing relayed, no VOD call."""
    status, _, body = http(shape, "POST", "/elements", b'{"name": "Mascot",')
    assert status == 400 and error_code(body) == "MalformedRequest"
    assert stack.webhook.deliveries == [] and stack.vod.calls == []


@pytest.mark.parametrize("shape", SHAPES)
def test_callback_url_not_allowed_400(media: LocalStack, shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A callback_url whose host is not in CALLBACK_ALLOWED_HOSTS: 400 on callback_url, nothing sent there."""
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "hooks.example.com")
    status, _, body = http(
        shape, "POST", "/elements", {**REQUEST, "callback_url": "http://169.254.169.254/x"}
    )
    assert status == 400 and [d["field"] for d in body["error"]["details"]] == ["callback_url"]
    assert media.vod.calls == []


@pytest.mark.parametrize("shape", SHAPES)
def test_api_token_401_and_authorised(media: LocalStack, shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With API_TOKEN: no or a wrong bearer token is 401 and calls nothing; the right one submits; /health
    stays open."""
    monkeypatch.setenv("API_TOKEN", TOKEN)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        status, answer_headers, body = http(shape, "POST", "/elements", REQUEST, headers=headers)
        assert status == 401 and error_code(body) == "Unauthorized"
        assert answer_headers["WWW-Authenticate"] == "Bearer"
    assert media.vod.calls == [] and media.webhook.deliveries == []
    status, _, _ = http(shape, "POST", "/elements", REQUEST, headers={"authorization": f"Bearer {TOKEN}"})
    assert status == 202 and len(media.vod.created_tasks()) == 1
    status, _, body = http(shape, "GET", "/health")
    assert status == 200 and TOKEN not in json.dumps(body)


@pytest.mark.parametrize("shape", SHAPES)
def test_unknown_route_404_and_method_405(stack: LocalStack, shape: str) -> None:
    """An unknown path is 404; a known path with another method is 405 naming the allowed one."""
    status, _, body = http(shape, "POST", "/v1/elements", REQUEST)
    assert status == 404 and error_code(body) == "NotFound"
    status, headers, body = http(shape, "PUT", "/elements", REQUEST)
    assert status == 405 and headers["Allow"] == "GET, POST" and error_code(body) == "MethodNotAllowed"


@pytest.mark.parametrize("shape", SHAPES)
def test_body_over_1mb_413(stack: LocalStack, shape: str) -> None:
    """A body over 1 MB is refused with 413 before anything else happens."""
    big = json.dumps({**REQUEST, "description": "x" * (1024 * 1024)}).encode()
    status, _, body = http(shape, "POST", "/elements", big)
    assert status == 413 and error_code(body) == "PayloadTooLarge"
    assert stack.vod.calls == []


@pytest.mark.parametrize("shape", SHAPES)
def test_vod_parameter_error_422(media: LocalStack, shape: str) -> None:
    """VOD refuses a parameter: 422 with the VOD code, element.failed relayed with it."""
    media.vod.inject(Fault("error", code="InvalidParameterValue.SubAppId", message="unknown SubAppId"))
    status, _, body = http(shape, "POST", "/elements", REQUEST)
    assert status == 422 and error_code(body) == "InvalidParameterValue.SubAppId"
    assert media.webhook.wait_for(1)[0].json["error"]["code"] == "InvalidParameterValue.SubAppId"


@pytest.mark.parametrize("shape", SHAPES)
def test_other_vod_error_502(media: LocalStack, shape: str) -> None:
    """A VOD refusal that is not about parameters: 502 with the VOD code, called once. (A refusal of the
    function's own permission, UnauthorizedOperation, is a configuration error since issue 21: 503.)"""
    media.vod.inject(Fault("error", code="FailedOperation", message="operation failed"))
    status, _, body = http(shape, "POST", "/elements", REQUEST)
    assert status == 502 and error_code(body) == "FailedOperation"
    assert len(media.vod.calls) == 1
    media.vod.inject(Fault("error", code="UnauthorizedOperation", message="no permission"))
    status, _, body = http(shape, "POST", "/elements", {**REQUEST, "name": "Other"})
    assert status == 503 and error_code(body) == "UnauthorizedOperation"
    assert len(media.vod.calls) == 2 and media.webhook.wait_for(1)[0].event == "element.failed"
    assert [d.event for d in media.webhook.deliveries] == ["element.failed"]  # the first one only


@pytest.mark.parametrize("shape", SHAPES)
def test_rate_limited_503_with_retry_after(
    media: LocalStack, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RequestLimitExceeded beyond the invocation's time: 503 with Retry-After; the retry then submits."""
    monkeypatch.setenv("VOD_RATE_LIMIT", "19.5")  # its own client-side limiter: the back-off stays here
    media.vod.inject(Fault("error", code="RequestLimitExceeded", times=50))
    short = {"request_id": "req-short", "time_limit_in_ms": 2500}
    status, headers, body = http(shape, "POST", "/elements", REQUEST, context=short)
    assert status == 503 and error_code(body).endswith(("RequestLimitExceeded", "RateLimited"))
    assert int(headers["Retry-After"]) >= 1
    assert media.vod.created_tasks() == []


def test_transient_vod_failure_503_then_retry_submits(media: LocalStack) -> None:
    """InternalError on every attempt: 503 with Retry-After; the caller's retry later gets 202."""
    media.vod.inject(Fault("error", code="InternalError", times=50))
    short = {"request_id": "req-short", "time_limit_in_ms": 2500}
    status, headers, body = http("scf_function_url", "POST", "/elements", REQUEST, context=short)
    assert status == 503 and error_code(body) and int(headers["Retry-After"]) >= 1
    assert {c.error_code for c in media.vod.calls} == {"InternalError"}  # retried inside, then given up
    media.vod.reset()
    status, _, body = http("scf_function_url", "POST", "/elements", REQUEST)
    assert status == 202 and body["task_id"] == media.vod.created_tasks()[0].task_id
