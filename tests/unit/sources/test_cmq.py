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


def test_both_documented_forms_of_owner_and_tags_are_taken() -> None:
    """SCF documents topicOwner as a number and msgTag as an array (the samples); older pages show a
    string and a comma-separated string. Either way the message is the same."""
    event = sample("cmq/topic-request.json")
    record = event["Records"][0]["CMQ"]
    assert isinstance(record["topicOwner"], int) and isinstance(record["msgTag"], list)
    older = json.loads(json.dumps(event))
    older["Records"][0]["CMQ"].update(topicOwner=str(record["topicOwner"]), msgTag=",".join(record["msgTag"]))
    assert matching(older) == ["cmq"]
    assert [j.request for j in run(older).jobs] == [j.request for j in run(event).jobs]


def test_a_signed_relay_job_delivered_by_the_trigger_is_submitted_and_a_forged_one_refused() -> None:
    """Jobs published to a topic and delivered by the CMQ topic trigger drain as before; the trigger is
    one more consumer of relay jobs, so a job that does not verify is refused (acknowledged, not relayed)."""
    body = sample("sqs/relay-job.json")["Records"][0]["body"]
    event = sample("cmq/topic-request.json")
    forged = json.loads(body)
    forged["sig"] = "hmac-sha256=" + "0" * 64
    event["Records"] = [
        {"CMQ": {**event["Records"][0]["CMQ"], "msgBody": body}},
        {"CMQ": {**event["Records"][0]["CMQ"], "msgBody": json.dumps(forged)}},
    ]
    outcome = run(event)
    assert [r["status"] for r in outcome.result["records"]] == ["submitted", "failed"]
    assert outcome.result["records"][1]["error"]["code"] == "ForeignRelayJob"
    assert [j.source.kind for j in outcome.jobs] == ["cos"]
