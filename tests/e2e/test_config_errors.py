"""Nothing is lost on a configuration error: with no Tencent Cloud credentials, every path brings its
event back instead of relaying ``element.failed`` and forgetting it. Async and one-event triggers
raise (the platform retries or dead-letters), HTTP answers 503, SQS returns the records as failed.
Runs against the local stack; the credentials are taken away after staging.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import handler
from devstack.stack import LocalStack
from lib.errors import ConfigError
from tests.conftest import load_event, stage

CREDENTIALS = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")
CONTEXT = {"request_id": "config-error", "time_limit_in_ms": 20000}


@pytest.fixture
def no_credentials(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    return stack


def nothing_happened(stack: LocalStack) -> None:
    """No element created, and above all no element.failed relayed for a configuration problem."""
    assert stack.vod.created_tasks() == []
    assert [d.event for d in stack.webhook.deliveries] == []


@pytest.mark.parametrize(
    "sample",
    [
        "direct/request.json",  # relayed as failed before, then gone without a webhook
        "s3/put.json",  # S3 storage needs no Tencent credentials: the VOD call found the gap
        "sns/s3-notification.json",
        "eventbridge/object-created.json",
        "cos/video.json",
        "cmq/topic-request.json",
        "ckafka/request.json",
        "tdmq/request.json",
        "timer/pull.json",
    ],
)
def test_async_and_direct_paths_raise(no_credentials: LocalStack, sample: str) -> None:
    """The invocation raises a ConfigError naming the missing variables; the platform retries."""
    event = load_event(sample)
    stage(no_credentials, event)
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRETID"):
        handler.main_handler(event, CONTEXT)
    nothing_happened(no_credentials)


def test_sqs_returns_every_record_as_failed(no_credentials: LocalStack) -> None:
    """A batch answers with each message in batchItemFailures: the queue redelivers, then dead-letters."""
    event = load_event("sqs/request.json")
    stage(no_credentials, event)
    result: dict[str, Any] = handler.main_handler(event, CONTEXT)
    ids = [r["messageId"] for r in event["Records"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
    nothing_happened(no_credentials)


@pytest.mark.parametrize("shape", ["scf_function_url", "aws_http_api", "lambda_function_url"])
def test_http_answers_503(no_credentials: LocalStack, shape: str) -> None:
    """POST /elements without credentials: 503 with Retry-After and the ConfigError, no element.failed."""
    event = load_event(f"http/{shape}/request.json")
    stage(no_credentials, event)
    result = handler.main_handler(event, CONTEXT)
    assert result["statusCode"] == 503
    assert "Retry-After" in result["headers"]
    assert json.loads(result["body"])["error"]["code"] == "ConfigError"
    nothing_happened(no_credentials)


def test_the_event_goes_through_once_the_credentials_are_back(
    no_credentials: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry the raise asked for succeeds when the configuration is fixed: nothing was lost."""
    event = load_event("direct/request.json")
    stage(no_credentials, event)
    with pytest.raises(ConfigError):
        handler.main_handler(event, CONTEXT)
    for name, value in no_credentials.env().items():
        monkeypatch.setenv(name, value)
    assert handler.main_handler(load_event("direct/request.json"), CONTEXT)["status"] == "submitted"
    assert [d.event for d in no_credentials.webhook.wait_for(1)] == ["element.submitted"]


@pytest.mark.parametrize(
    "kind", ["scf_function_url", "scf_api_gateway", "aws_rest_api", "aws_http_api", "lambda_function_url"]
)
def test_http_with_settings_that_do_not_load_answers_503(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """An invalid setting: every HTTP trigger answers 503 with Retry-After in its own shape, naming no
    setting (only the log does); nothing is submitted or relayed. Other kinds raise (above)."""
    monkeypatch.setenv("VOD_ENDPOINT", "ftp://not-an-endpoint")
    event = load_event(f"http/{kind}/request.json")
    answer = handler.main_handler(event, CONTEXT)
    assert answer["statusCode"] == 503 and answer["headers"]["Retry-After"] == "60"
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "ServiceUnavailable" and "VOD_ENDPOINT" not in answer["body"]
    nothing_happened(stack)
    with pytest.raises(ConfigError, match="VOD_ENDPOINT"):
        handler.main_handler(load_event("direct/request.json"), CONTEXT)
