"""The SNS-wrapped S3 notification adapter (``lib.sources.sns``): the S3 event inside an SNS message."""

from __future__ import annotations

import json
from typing import Any

from lib.sources import sns_s3_message as s3_message
from lib.sources.sns import SnsS3Notification
from tests.source_cases import matching, run, sample, stored


def wrapped(message: object) -> dict[str, Any]:
    event = sample("sns/s3-notification.json")
    event["Records"][0]["Sns"]["Message"] = message if isinstance(message, str) else json.dumps(message)
    return event


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("s3-notification.json", "s3-test-event.json"):
        assert matching(sample(f"sns/{name}")) == ["sns_s3"]
    assert not SnsS3Notification().matches(sample("foreign/sns-plain-message.json"))


def test_only_s3_notifications_are_read_from_the_message() -> None:
    inner = json.loads(sample("sns/s3-notification.json")["Records"][0]["Sns"]["Message"])
    assert s3_message(wrapped(inner)["Records"][0]) == inner
    assert s3_message(wrapped({"Event": "s3:TestEvent"})["Records"][0]) == {"Event": "s3:TestEvent"}
    messages: list[object] = [
        "not json",
        "[1, 2]",
        {"Records": [{"cos": {}, "s3": {}}]},
        {"Records": []},
        "[" * 5000,
    ]
    for message in messages:
        assert s3_message(wrapped(message)["Records"][0]) is None
    assert s3_message({"Sns": {"Message": 7}}) is None
    assert s3_message({"Sns": {"Message": "x" * 300_000}}) is None


def test_the_upload_inside_is_submitted() -> None:
    outcome = run(sample("sns/s3-notification.json"))
    [job] = outcome.jobs
    assert job.source.kind == "s3"
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]


def test_the_test_event_is_acknowledged() -> None:
    outcome = run(sample("sns/s3-test-event.json"))
    assert outcome.result == {"records": [{"status": "ignored", "note": "s3:TestEvent acknowledged"}]}
    assert outcome.jobs == []


def test_a_record_that_is_no_s3_notification_fails_alone_and_removals_are_skipped() -> None:
    event = sample("sns/s3-notification.json")
    storage = stored(event)
    inner = json.loads(event["Records"][0]["Sns"]["Message"])
    removed = json.loads(json.dumps(inner))
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    broken = json.loads(json.dumps(inner))
    del broken["Records"][0]["s3"]["bucket"]["name"]
    event["Records"] += [
        wrapped("plain text")["Records"][0],
        wrapped(removed)["Records"][0],
        wrapped(broken)["Records"][0],
    ]
    outcome = run(event, storage=storage)
    assert [r["status"] for r in outcome.result["records"]] == ["submitted", "failed", "failed"]
    assert "Sns.Message" in outcome.result["records"][1]["error"]["message"]
    assert len(outcome.jobs) == 1
