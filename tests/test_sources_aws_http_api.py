"""The aws http api adapter (``lib.sources.aws_http_api``): its sample events, the request
it builds, and the answer in the shape this trigger reads.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lib.sources.aws_http_api import AwsHttpApi, to_request
from tests.source_cases import authorised, matching, run, sample


def sent_body(event: dict[str, Any]) -> Any:
    """The JSON the sample's client sent, read straight from the event."""
    body = event["body"]
    if event.get("isBase64Encoded") in (True, "true"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if isinstance(body, str) else body


SAMPLE = "http/aws_http_api/request.json"


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("request.json", "invalid.json"):
        event = sample(f"http/aws_http_api/{name}")
        assert matching(event) == ["aws_http_api"]
        assert AwsHttpApi().matches(event)


def test_an_authorised_request_is_submitted_as_an_http_request() -> None:
    outcome = run(authorised(sample(SAMPLE)))
    assert outcome.result["statusCode"] in (200, 202)
    assert ("isBase64Encoded" in outcome.result) is True
    assert json.loads(outcome.result["body"])["task_id"] == "task-1"
    [job] = outcome.jobs
    assert job.source.kind == "http"
    sent = sent_body(sample(SAMPLE))
    if "name" in sent:  # an element request (not a folder)
        assert job.request.name == sent["name"]


def test_without_the_token_nothing_is_submitted() -> None:
    outcome = run(sample(SAMPLE))
    assert outcome.result["statusCode"] == 401
    assert outcome.result["headers"]["WWW-Authenticate"] == "Bearer"
    assert outcome.jobs == []


def test_an_invalid_request_is_answered_with_the_field() -> None:
    outcome = run(authorised(sample("http/aws_http_api/invalid.json")))
    assert outcome.result["statusCode"] in (400, 422)
    body = json.loads(outcome.result["body"])
    assert body["error"]["details"][0]["field"]
    assert outcome.jobs == []


def test_the_request_it_builds() -> None:
    request = to_request(authorised(sample(SAMPLE)))
    assert request.method == "POST"
    assert request.path.startswith("/elements")
    assert request.header("Authorization") == "Bearer tok-source-cases"
    assert json.loads(request.body) == sent_body(sample(SAMPLE))


def test_a_body_flagged_base64_must_be_base64() -> None:
    event = authorised(sample(SAMPLE))
    event["isBase64Encoded"] = True
    event["body"] = "not base64!"
    outcome = run(event)
    assert outcome.result["statusCode"] == 400
    assert "base64" in json.loads(outcome.result["body"])["error"]["message"]
    with pytest.raises(Exception, match="base64"):
        to_request(event)
