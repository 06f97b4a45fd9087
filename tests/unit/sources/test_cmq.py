"""The CMQ trigger adapter (``lib.sources.cmq``): each record's ``CMQ.msgBody`` is one queue message."""

from __future__ import annotations

import json

from lib.sources.cmq import CmqMessages
from tests.source_cases import matching, run, sample


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("topic-request.json", "queue-cos-notification.json"):
        assert matching(sample(f"cmq/{name}")) == ["cmq"]
    assert not CmqMessages().matches({"Records": [{"CMQ": "text"}]})


def test_a_request_message_is_submitted() -> None:
    event = sample("cmq/topic-request.json")
    outcome = run(event)
    [job] = outcome.jobs
    assert job.request.name == json.loads(event["Records"][0]["CMQ"]["msgBody"])["name"]
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]


def test_a_cos_notification_through_a_queue_is_an_upload() -> None:
    outcome = run(sample("cmq/queue-cos-notification.json"))
    [job] = outcome.jobs
    assert job.source.kind == "cos"
    assert job.source.bucket


def test_a_broken_record_is_failed_alone() -> None:
    event = sample("cmq/topic-request.json")
    event["Records"].append({"CMQ": {"msgBody": "not json"}})
    outcome = run(event)
    assert [r["status"] for r in outcome.result["records"]] == ["submitted", "failed"]
    assert "not JSON" in outcome.result["records"][1]["error"]["message"]
